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

function serve(model, cbirKernels, chunk) {
  const [, h, w, c] = model.outputs[0].shape;
  parentPort.on('message', ({ id, data, shared, n, size }) => {
    try {
      // The pixels come in a buffer shared with the caller (reused between calls) or as a copy of their own.
      if (shared) data = new Float32Array(shared, 0, n * size * size * 3);
      // In chunks whose activations stay in cache (the model's encodeChunk).
      const per = size * size * 3;
      const result = new Float32Array(n * h * w * c);
      const step = Math.ceil(n / Math.ceil(n / chunk)); // equal chunks
      for (let i = 0; i < n; i += step) {
        const m = Math.min(step, n - i);
        const y = tf.tidy(() =>
          model.apply(tf.tensor4d(data.subarray(i * per, (i + m) * per), [m, size, size, 3]), { training: false }),
        );
        result.set(y.dataSync(), i * h * w * c);
        y.dispose();
      }
      parentPort.postMessage({ id, data: result, shape: [n, h, w, c] }, [result.buffer]);
    } catch (error) {
      parentPort.postMessage({ id, error: String(error?.stack ?? error) });
    }
  });
  parentPort.postMessage({ ready: true, cbirKernels });
}

/**
 * Registers cbir's wasm kernels in this thread's tfjs, as initNodeBackend does on the main thread: without them
 * tfjs's own Pad and Slice make small models 3x slower (ConvAutoencoder at 128 px: 3,800 against 11,700 img/s).
 * cbir-core is imported as a package, so from its build; run from sources without one (the tests), the worker still
 * encodes, with tfjs's kernels.
 */
async function registerCbirKernels() {
  try {
    (await import('cbir-core/compute')).registerWasmTrainingKernels();
    return true;
  } catch {
    return false;
  }
}

async function main() {
  const cbirKernels = workerData.backend === 'wasm' && (await registerCbirKernels());
  if (!(await tf.setBackend(workerData.backend)))
    throw new Error(`worker: backend ${workerData.backend} did not initialise`);
  serve(await tfl.loadLayersModel(tf.io.fromMemory(workerData.artifacts)), cbirKernels, workerData.chunk ?? Infinity);
}

main().catch((error) => {
  throw error;
});
