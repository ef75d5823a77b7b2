// Profiles the encoder's forward pass per kernel: where does encoding time go?
// Usage: vite-node --config vitest.config.ts bench/profile-encode.ts [v1|v2] [size] [backend] [batch]
// THREADS=n sets the SIMD threads (default: one per core).
import * as tf from '@tensorflow/tfjs-core';
import { ConvAutoencoder, ConvAutoencoderV2 } from 'cbir-core';
import { initNodeBackend } from 'cbir-node';

const [which = 'v2', sizeArg = '128', backend = 'wasm', batchArg = '32'] = process.argv.slice(2);
await initNodeBackend({ prefer: [backend as 'wasm'], threads: Number(process.env.THREADS ?? 0) || undefined });
const size = Number(sizeArg);
const batch = Number(batchArg);
const ae =
  which === 'v1'
    ? new ConvAutoencoder({ inputSize: size, seed: 0 })
    : new ConvAutoencoderV2({ inputSize: size, seed: 0 });
const x = tf.randomUniform([batch, size, size, 3], -1, 1) as tf.Tensor4D;
const step = () => {
  const z = ae.encode(x);
  z.dataSync();
  z.dispose();
};
for (let i = 0; i < 5; i++) step(); // warm up
let runs = 0;
const t0 = performance.now();
while (performance.now() - t0 < 2000) (step(), runs++);
const ms = (performance.now() - t0) / runs;
const profile = await tf.profile(step);
const byKernel = new Map<string, number>();
for (const k of profile.kernels) byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + (k.kernelTimeMs as number));
console.log(
  `${which} @${size} batch ${batch} on ${tf.getBackend()}: encode ${ms.toFixed(2)} ms (${((batch * 1000) / ms).toFixed(1)} img/s)`,
);
for (const [k, t] of [...byKernel].sort((a, b) => b[1] - a[1]).slice(0, 15))
  console.log(`  ${k.padEnd(24)} ${t.toFixed(2)} ms`);
process.exit(0);
