// Profiles one training step (forward, MSE, backward, Adam) per kernel: where does the time go?
// Usage: vite-node --config vitest.config.ts bench/profile-train-step.ts [v1|v2] [size] [backend] [batch]
// KERNEL=Multiply lists that kernel's calls with their input shapes; HEAP=1 first times 4 more steps with the wasm heap's
// size (the second step can still be growing the heap: its profile then shows page faults in whichever kernel grew it).
import * as tf from '@tensorflow/tfjs-core';
import { ConvAutoencoder, ConvAutoencoderV2 } from 'cbir-core';
import { registerWasmTrainingKernels } from 'cbir-core/compute';
import { initNodeBackend } from 'cbir-node';

const [which = 'v2', sizeArg = '128', backend = 'wasm', batchArg = '32'] = process.argv.slice(2);
await initNodeBackend({ prefer: [backend as 'wasm'] });
registerWasmTrainingKernels();
const size = Number(sizeArg);
const batch = Number(batchArg);
const ae =
  which === 'v1'
    ? new ConvAutoencoder({ inputSize: size, seed: 0 })
    : new ConvAutoencoderV2({ inputSize: size, seed: 0 });
const opt = tf.train.adam(3e-4, 0.9, 0.999, 1e-8);
const x = tf.randomUniform([batch, size, size, 3], -1, 1) as tf.Tensor4D;
const step = () => {
  const loss = opt.minimize(
    () => tf.losses.meanSquaredError(x, ae.model.apply(x, { training: true }) as tf.Tensor),
    true,
  );
  loss!.dataSync();
  loss!.dispose();
};
step(); // warm up
if (process.env.HEAP) {
  for (let i = 0; i < 4; i++) {
    const t = performance.now();
    step();
    const heap = (tf.backend() as unknown as { wasm?: { HEAPU8: Uint8Array } }).wasm?.HEAPU8.length ?? 0;
    console.log(`step ${(performance.now() - t).toFixed(0)} ms, wasm heap ${(heap / 2 ** 20).toFixed(0)} MB`);
  }
}
const t0 = performance.now();
const profile = await tf.profile(step);
const total = performance.now() - t0;
const byKernel = new Map<string, number>();
for (const k of profile.kernels) byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + (k.kernelTimeMs as number));
console.log(
  `${which} @${size} batch ${batch} on ${tf.getBackend()}: step ${total.toFixed(0)} ms (${((batch * 1000) / total).toFixed(2)} img/s)`,
);
const only = process.env.KERNEL;
if (only)
  for (const k of profile.kernels.filter((k) => k.name === only))
    console.log(`    ${only} ${JSON.stringify(k.inputShapes)} ${(k.kernelTimeMs as number).toFixed(1)} ms`);
for (const [k, ms] of [...byKernel].sort((a, b) => b[1] - a[1]).slice(0, 15))
  console.log(`  ${k.padEnd(24)} ${ms.toFixed(1)} ms`);
