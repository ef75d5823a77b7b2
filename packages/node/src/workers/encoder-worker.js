// A worker thread of EncoderPool: its own tfjs on the wasm backend, running one encoder.
// Plain JavaScript so that it runs as is from src/ and from dist/; no top-level await (tsup also emits a CJS copy).
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-cpu';

const require = createRequire(import.meta.url);
setWasmPaths(join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm')), '/'));

function serve(model) {
  const [, h, w, c] = model.outputs[0].shape;
  parentPort.on('message', ({ id, data, n, size }) => {
    try {
      const x = tf.tensor4d(data, [n, size, size, 3]);
      const y = model.apply(x, { training: false });
      const result = y.dataSync();
      tf.dispose([x, y]);
      parentPort.postMessage({ id, data: result, shape: [n, h, w, c] }, [result.buffer]);
    } catch (error) {
      parentPort.postMessage({ id, error: String(error?.stack ?? error) });
    }
  });
  parentPort.postMessage({ ready: true });
}

async function main() {
  if (!(await tf.setBackend(workerData.backend))) throw new Error(`worker: backend ${workerData.backend} did not initialise`);
  serve(await tfl.loadLayersModel(tf.io.fromMemory(workerData.artifacts)));
}

main().catch((error) => {
  throw error;
});
