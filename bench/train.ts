// pnpm bench:train: training and encoder images/s of both models at 128x128 on our default Node backend (wasm with
// cbir's kernels, plus EncoderPool on every core), on tfjs's cpu backend, and for the PyTorch reference, measured in
// the same run. Each model on each backend runs in its own process, so that peak memory is its own and one model's
// heap (V2's training grows the wasm heap past 2 GB) does not slow the next.
// EncoderPool's workers load cbir's wasm kernels from cbir-core's build, which `pnpm bench:train` makes first.
// Both sides warm up for 3 s before each measurement (steady state).
// Options: --quick (fewer steps, for CI), --backend wasm|cpu --model V2|V1 (internal: measure one, print JSON).
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { ConvAutoencoder, ConvAutoencoderV2, type Autoencoder } from 'cbir-core';
import { EncoderPool, initNodeBackend, type NodeBackendName } from 'cbir-node';

const SIZE = 128;
const BATCH = 32;
const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const only = argv.includes('--backend') ? (argv[argv.indexOf('--backend') + 1] as NodeBackendName) : undefined;
const onlyModel = argv.includes('--model') ? argv[argv.indexOf('--model') + 1] : undefined;

interface Row { model: string; backend: string; batch: number; train: number; encode: number; pooled?: number; peakMB: number }

let peakRss = 0;
const sample = () => (peakRss = Math.max(peakRss, process.memoryUsage.rss()));

/**
 * Warm-up before each measurement: long enough for V8 to tier the wasm code up. EncoderPool's workers start cold: with
 * ConvAutoencoder, second by second, a new pool encoded 10.6k, 17.2k, 21.0k, then 21-22k img/s.
 */
const WARMUP_MS = quick ? 0 : 3000;

/**
 * Calls `fn` for a warm-up (at least once and WARMUP_MS), then until `minSteps` calls and `minMs` have both passed;
 * returns calls per second. torch_train.py measures PyTorch the same way.
 */
async function rate(fn: () => unknown, minSteps: number, minMs: number): Promise<number> {
  const w = performance.now();
  do await fn();
  while (performance.now() - w < WARMUP_MS);
  let steps = 0;
  const t = performance.now();
  while (steps < minSteps || performance.now() - t < minMs) {
    await fn();
    steps++;
    sample();
  }
  return (steps * 1000) / (performance.now() - t);
}

async function measure(make: () => Autoencoder, backend: NodeBackendName, batch: number): Promise<Row> {
  const ae = make();
  const opt = tf.train.adam(3e-4, 0.9, 0.999, 1e-8);
  const x = tf.randomUniform([batch, SIZE, SIZE, 3], -1, 1) as tf.Tensor4D;
  const encodeStep = () => {
    const z = ae.encode(x);
    z.dataSync();
    z.dispose();
  };
  const encode = (await rate(encodeStep, 3, quick ? 0 : 2000)) * batch;
  let pooled: number | undefined;
  if (backend === 'wasm') {
    const pool = await EncoderPool.create(ae);
    // The workers import cbir's kernels from cbir-core's build (`pnpm bench:train` builds it first).
    if (!pool.cbirKernels) console.error('EncoderPool: the workers run without cbir kernels (no cbir-core build)');
    const pixels = x.dataSync() as Float32Array;
    pooled = (await rate(() => pool.encode(pixels, batch), 3, quick ? 0 : 2000)) * batch;
    await pool.close();
  }
  const trainStep = () => {
    const loss = opt.minimize(() => tf.losses.meanSquaredError(x, ae.model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, true);
    loss!.dataSync();
    loss!.dispose();
  };
  // Training last: its large working set stays in the wasm heap, which never shrinks.
  const train = (await rate(trainStep, backend === 'cpu' ? 1 : 3, quick ? 0 : 3000)) * batch;
  tf.dispose(x);
  opt.dispose();
  const model = ae.architecture.name;
  ae.dispose();
  return { model, backend: backend === 'wasm' ? 'wasm (cbir kernels)' : backend, batch, train, encode, pooled, peakMB: peakRss / 2 ** 20 };
}

const MODELS: Record<string, [string, () => Autoencoder]> = {
  V2: ['ConvAutoencoderV2', () => new ConvAutoencoderV2({ inputSize: SIZE, seed: 0 })],
  V1: ['ConvAutoencoder', () => new ConvAutoencoder({ inputSize: SIZE, seed: 0 })],
};

if (only && onlyModel) {
  await initNodeBackend({ prefer: [only] });
  const timer = setInterval(sample, 50);
  const [name, make] = MODELS[onlyModel];
  // tfjs's cpu backend needs minutes per V2 step at batch 32: it is measured at batch 4 (images/s are comparable).
  console.log(JSON.stringify(await measure(make, only, only === 'cpu' && name === 'ConvAutoencoderV2' ? 4 : BATCH)));
  clearInterval(timer);
  process.exit(0);
}

const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));
const parse = (out: string) => out.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
const rows: Row[] = [];
for (const backend of ['wasm', 'cpu']) {
  for (const model of Object.keys(MODELS)) {
    const out = execFileSync(here('../node_modules/.bin/vite-node'), ['--config', here('../vitest.config.ts'), here('./train.ts'), '--', ...argv, '--backend', backend, '--model', model], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    rows.push(...parse(out));
  }
}
// PyTorch gets as many threads as cbir uses (one per core), unless CBIR_BENCH_THREADS says otherwise.
const threads = Number(process.env.CBIR_BENCH_THREADS ?? availableParallelism());
const torchArgs = ['--threads', String(threads), '--batch', String(BATCH), '--size', String(SIZE), ...(quick ? ['--steps', '1', '--min-seconds', '0', '--warmup-seconds', '0'] : [])];
const torch = execFileSync('/usr/bin/python3', [here('./torch_train.py'), ...torchArgs], { encoding: 'utf8' });
for (const t of parse(torch)) {
  rows.push({ model: t.model, backend: `PyTorch ${t.torch} (${threads} threads)`, batch: BATCH, train: t.trainImagesPerSec, encode: t.encodeImagesPerSec, peakMB: t.peakRssMB });
}

const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
console.log(`\nbench:train: ${SIZE}x${SIZE}, tfjs ${tf.version_core}, node ${process.version}; tfjs's own wasm kernels run on one thread in Node; cbir's convolution kernels and EncoderPool use every core\n`);
console.log('| model | backend | batch | train img/s | encode img/s | encode img/s, EncoderPool | train vs PyTorch | encode vs PyTorch (best) | peak RSS MB |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  const ref = rows.find((t) => t.model === r.model && t.backend.startsWith('PyTorch'))!;
  const best = Math.max(r.encode, r.pooled ?? 0);
  console.log(`| ${r.model} | ${r.backend} | ${r.batch} | ${fmt(r.train)} | ${fmt(r.encode)} | ${r.pooled ? fmt(r.pooled) : '-'} | ${(r.train / ref.train).toFixed(2)}x | ${(best / ref.encode).toFixed(2)}x | ${r.peakMB.toFixed(0)} |`);
}
