// A worker thread of ParallelExtractor: rebuilds the extractor from its spec and extracts raw vectors of the images
// it is sent. Plain JavaScript so that it runs as is from src/ and from dist/; no top-level await (tsup also emits a
// CJS copy). It imports cbir-core's build (dist); ParallelExtractor checks that the build exists before starting it.
import { parentPort, workerData } from 'node:worker_threads';
import { createExtractor } from 'cbir-core';

createExtractor(workerData.spec).then(
  (fx) => {
    parentPort.on('message', ({ id, images }) => {
      fx.extract(images).then(
        (vectors) => {
          const out = new Float32Array(vectors.length * fx.rawDim);
          vectors.forEach((v, i) => out.set(v, i * fx.rawDim));
          parentPort.postMessage({ id, data: out }, [out.buffer]);
        },
        (error) => parentPort.postMessage({ id, error: String(error?.stack ?? error) }),
      );
    });
    parentPort.postMessage({ ready: true, rawDim: fx.rawDim });
  },
  (error) => parentPort.postMessage({ ready: false, error: String(error?.stack ?? error) }),
);
