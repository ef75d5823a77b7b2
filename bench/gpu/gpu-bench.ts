// The GPU check's Node side (bench/gpu/device-check.sh runs it, bundled by bench/gpu/prepare.sh): cbir's webgpu
// backend on the machine's adapter. Prints one JSON line per result:
//   {"kind":"adapter", ...}          the adapter; exit 3 when CBIR_REQUIRE_GPU=1 and it is not a hardware one
//   {"kind":"parity", ...}           ConvAutoencoderV2 at 32 px, 10 Adam steps against PyTorch's fixture
//   {"kind":"rate", ...}             V2 training and encoding images/s at each SIZES x BATCH
// Env: SIZES (default "128,512"), BATCH (32), STEPS (timed steps, 3), FIXTURES (the training fixtures' folder).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import {
  Adam,
  ConvAutoencoderV2,
  backendMemory,
  chooseMicroBatch,
  loadTorchWeights,
  mseGradients,
} from '../../packages/core/src/index.js';
import { readNpy, readSafetensors } from '../../packages/core/src/entries/io.js';
import { releaseWebGpu, startWebGpu, webGpuAdapter } from '../../packages/node/src/webgpu.js';
import { formulaSafetensors } from '../../packages/core/test/helpers/formula-weights.js';

const env = process.env;
const print = (o: object) => console.log(JSON.stringify(o));
const sizes = (env.SIZES ?? '128,512').split(',').map(Number);
const batch = Number(env.BATCH ?? 32);
const steps = Number(env.STEPS ?? 3);
const fixtures = env.FIXTURES ?? 'packages/core/test/fixtures/training';

await startWebGpu();
const adapter = webGpuAdapter()!;
const hardware = !adapter.isFallbackAdapter;
print({ kind: 'adapter', ...adapter, hardware });
if (env.CBIR_REQUIRE_GPU === '1' && !(hardware && /nvidia/i.test(`${adapter.vendor} ${adapter.description}`))) {
  console.error(`the adapter is not an NVIDIA GPU: ${JSON.stringify(adapter)}`);
  process.exit(3);
}

/** Max abs difference over the largest value, tensor by tensor, against a safetensors fixture (PyTorch layout). */
async function worst(ae: ConvAutoencoderV2, tensors: tf.Tensor[], file: string, keys: string[]): Promise<number> {
  const want = readSafetensors(new Uint8Array(readFileSync(join(fixtures, file)))).tensors;
  let err = 0;
  const names = [...ae.convLayers.keys()];
  for (let i = 0; i < names.length; i++) {
    for (const [suffix, t] of [
      ['weight', tf.transpose(tensors[2 * i], [3, 2, 0, 1])],
      ['bias', tensors[2 * i + 1].clone()],
    ] as const) {
      const key = `${names[i]}.${suffix}`;
      const got = (await t.data()) as Float32Array;
      t.dispose();
      if (!keys.includes(key)) continue;
      const ref = want.get(key)!.toFloat32();
      let d = 0;
      let m = 1e-3;
      for (let j = 0; j < ref.length; j++) {
        d = Math.max(d, Math.abs(got[j] - ref[j]));
        m = Math.max(m, Math.abs(ref[j]));
      }
      err = Math.max(err, d / m);
    }
  }
  return err;
}

{
  const manifest = JSON.parse(readFileSync(join(fixtures, 'manifest.json'), 'utf8')).v2;
  const ae = new ConvAutoencoderV2({ inputSize: manifest.size });
  loadTorchWeights(ae, formulaSafetensors(ae));
  const input = readNpy(new Uint8Array(readFileSync(join(fixtures, 'v2-input.npy'))));
  const x = tf.tensor4d(input.data as Float32Array, input.shape as [number, number, number, number]);
  const vars = ae.model.trainableWeights.map((w) => w.read() as tf.Variable);
  const adam = new Adam({ lr: 3e-4 });
  let lossErr = 0;
  let gradErr = 0;
  for (let s = 0; s < 10; s++) {
    const { loss, grads } = mseGradients(ae, x, { vars });
    const l = (await loss.data())[0];
    lossErr = Math.max(lossErr, Math.abs(l - manifest.losses[s]) / manifest.losses[s]);
    if (s === 0) gradErr = await worst(ae, grads, 'v2-grads.safetensors', manifest.keys);
    adam.apply(vars, grads);
    tf.dispose([loss, ...grads]);
  }
  const paramErr = await worst(ae, vars, 'v2-params-10.safetensors', manifest.keys);
  const ok = lossErr <= 1e-5 && gradErr <= 1e-4 && paramErr <= 1e-4;
  print({ kind: 'parity', size: manifest.size, batch: input.shape[0], lossErr, gradErr, paramErr, ok });
  tf.dispose(x);
  adam.dispose();
  ae.dispose();
  if (!ok) process.exitCode = 4;
}

/** Seconds per call of `fn` after one warm-up call (pipelines compile on first use), over `steps` calls. */
async function seconds(fn: () => Promise<void>): Promise<number> {
  await fn();
  const t = performance.now();
  for (let s = 0; s < steps; s++) await fn();
  return (performance.now() - t) / 1000 / steps;
}

for (const size of sizes) {
  const ae = new ConvAutoencoderV2({ inputSize: size, seed: 0 });
  const x = tf.randomUniform([batch, size, size, 3], -1, 1, 'float32', 7) as tf.Tensor4D;
  const vars = ae.model.trainableWeights.map((w) => w.read() as tf.Variable);
  const adam = new Adam();
  const microBatch = chooseMicroBatch(ae, batch, backendMemory());
  const train = await seconds(async () => {
    const { loss, grads } = mseGradients(ae, x, { vars, microBatch });
    adam.apply(vars, grads);
    await loss.data();
    tf.dispose([loss, ...grads]);
  });
  const encode = await seconds(async () => {
    const z = ae.encode(x);
    await z.data();
    z.dispose();
  });
  print({ kind: 'rate', size, batch, microBatch, train: batch / train, encode: batch / encode });
  tf.dispose(x);
  adam.dispose();
  ae.dispose();
}
releaseWebGpu();
