// Times one Conv2D shape on the wasm backend: cbir's kernel (threaded and not) against tfjs's (XNNPACK).
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from 'cbir-node';
import { setSimdThreads } from 'cbir-core';
const [shape = '32,130,130,3', fshape = '3,3,3,16', s = '3'] = process.argv.slice(2);
await initNodeBackend({ prefer: ['wasm'] });
const x = tf.randomUniform(shape.split(',').map(Number)) as tf.Tensor4D;
const f = tf.randomUniform(fshape.split(',').map(Number)) as tf.Tensor4D;
const b = tf.randomUniform([f.shape[3]]) as tf.Tensor1D;
const time = (label: string) => {
  const run = () => tf.tidy(() => tf.fused.conv2d({ x, filter: f, strides: Number(s), pad: 'valid', bias: b, activation: 'relu' })).dispose();
  for (let i = 0; i < 5; i++) run();
  const t = performance.now(); let n = 0;
  while (performance.now() - t < 1000) (run(), n++);
  console.log(label, ((performance.now() - t) / n).toFixed(3), 'ms', ((globalThis as any).T ?? []).map((v: number) => (v / n).toFixed(3)).join(' ')); (globalThis as any).T = undefined;
};
time('cbir threaded');
const kernel = tf.getKernel('FusedConv2D', 'wasm')!;
setSimdThreads(undefined);
time('cbir 1 thread');
const { FALLBACKS } = await import('../packages/core/src/kernels/wasm/run-kernel.js');
const orig = FALLBACKS.get('FusedConv2D')!;
tf.unregisterKernel('FusedConv2D', 'wasm');
tf.registerKernel(orig);
orig.setupFunc?.(tf.backend());
time('xnnpack');
process.exit(0);
