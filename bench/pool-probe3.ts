import * as tf from '@tensorflow/tfjs-core';
import { ConvAutoencoder, ConvAutoencoderV2 } from 'cbir-core';
import { initNodeBackend } from 'cbir-node';
await initNodeBackend({ prefer: ['wasm'] });
const ae = process.argv[2] === 'v2' ? new ConvAutoencoderV2({ inputSize: 128, seed: 0 }) : new ConvAutoencoder({ inputSize: 128, seed: 0 });
const time = (label: string, fn: () => unknown) => {
  for (let i = 0; i < 5; i++) fn();
  const t = performance.now(); let n = 0;
  while (performance.now() - t < 1000) (fn(), n++);
  return (performance.now() - t) / n;
};
for (const b of [2, 4, 8, 16, 32, 64]) {
  const x = tf.randomUniform([b, 128, 128, 3], -1, 1) as tf.Tensor4D;
  const ms = time(`batch ${b}`, () => { const z = ae.encode(x); z.dataSync(); z.dispose(); });
  console.log(`batch ${b}: ${ms.toFixed(3)} ms, ${(b * 1000 / ms).toFixed(0)} img/s`);
  x.dispose();
}
process.exit(0);
