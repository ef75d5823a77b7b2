// pnpm bench:train: training and encoder images/s of both models at 128x128, on our default Node backend (wasm with
// cbir's kernels), on tfjs's cpu backend, and for the PyTorch reference measured in the same run.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { ConvAutoencoder, ConvAutoencoderV2, type Autoencoder } from 'cbir-core';
import { initNodeBackend, type NodeBackendName } from 'cbir-node';

const SIZE = 128;
const BATCH = 32;
const args = new Set(process.argv.slice(2));
const quick = args.has('--quick');

interface Row { model: string; backend: string; batch: number; train: number; encode: number; peakMB: number }

let peakRss = 0;
const sample = () => (peakRss = Math.max(peakRss, process.memoryUsage().rss));
const timer = setInterval(sample, 50);

/** Runs `fn` repeatedly (after one warm-up) until `minSteps` and `minMs` are both reached; returns calls per second. */
function rate(fn: () => void, minSteps: number, minMs: number): number {
  fn();
  let steps = 0;
  const t = performance.now();
  while (steps < minSteps || performance.now() - t < minMs) {
    fn();
    steps++;
    sample();
  }
  return (steps * 1000) / (performance.now() - t);
}

function measure(make: () => Autoencoder, backend: string, batch: number, trainSteps: number): Row {
  const ae = make();
  const opt = tf.train.adam(3e-4, 0.9, 0.999, 1e-8);
  const x = tf.randomUniform([batch, SIZE, SIZE, 3], -1, 1) as tf.Tensor4D;
  const train = rate(() => {
    const loss = opt.minimize(() => tf.losses.meanSquaredError(x, ae.model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, true);
    loss!.dataSync();
    loss!.dispose();
  }, trainSteps, quick ? 0 : 3000) * batch;
  const encode = rate(() => {
    const z = ae.encode(x);
    z.dataSync();
    z.dispose();
  }, 3, quick ? 0 : 2000) * batch;
  tf.dispose([x]);
  opt.dispose();
  const name = ae.architecture.name;
  ae.dispose();
  return { model: name, backend, batch, train, encode, peakMB: peakRss / 2 ** 20 };
}

const rows: Row[] = [];
const models: [string, () => Autoencoder][] = [
  ['ConvAutoencoderV2', () => new ConvAutoencoderV2({ inputSize: SIZE, seed: 0 })],
  ['ConvAutoencoder', () => new ConvAutoencoder({ inputSize: SIZE, seed: 0 })],
];
for (const backend of ['wasm', 'cpu'] as NodeBackendName[]) {
  await initNodeBackend({ prefer: [backend] });
  for (const [name, make] of models) {
    // tfjs's cpu backend needs minutes per V2 step at batch 32: it is measured at batch 4 (images/s are comparable).
    const batch = backend === 'cpu' && name === 'ConvAutoencoderV2' ? 4 : BATCH;
    peakRss = 0;
    rows.push(measure(make, backend === 'wasm' ? 'wasm (cbir kernels)' : 'cpu', batch, backend === 'cpu' ? 1 : 3));
    console.error(`measured ${name} on ${backend}`);
  }
}
clearInterval(timer);

const script = fileURLToPath(new URL('./torch_train.py', import.meta.url));
const threads = Number(process.env.CBIR_BENCH_THREADS ?? 2);
const torchRows = execFileSync('/usr/bin/python3', [script, '--threads', String(threads), '--batch', String(BATCH), '--steps', quick ? '1' : '4', '--size', String(SIZE)], { encoding: 'utf8' })
  .trim().split('\n').map((l) => JSON.parse(l) as { model: string; trainImagesPerSec: number; encodeImagesPerSec: number; peakRssMB: number });
for (const t of torchRows) {
  rows.push({ model: t.model, backend: `PyTorch ${threads} threads`, batch: BATCH, train: t.trainImagesPerSec, encode: t.encodeImagesPerSec, peakMB: t.peakRssMB });
}

const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
console.log(`\nbench:train, ${SIZE}x${SIZE}, tfjs ${tf.version_core}, node ${process.version} (wasm is single-threaded in Node)\n`);
console.log('| model | backend | batch | train img/s | encode img/s | train vs PyTorch | encode vs PyTorch | peak RSS MB |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  const ref = rows.find((t) => t.model === r.model && t.backend.startsWith('PyTorch'))!;
  console.log(`| ${r.model} | ${r.backend} | ${r.batch} | ${fmt(r.train)} | ${fmt(r.encode)} | ${(r.train / ref.train).toFixed(2)}x | ${(r.encode / ref.encode).toFixed(2)}x | ${r.peakMB.toFixed(0)} |`);
}
