// pnpm bench:train: training and encoder images/s of the notebook's models on our default Node backend (wasm with
// cbir's kernels, plus EncoderPool on every core), on tfjs's cpu backend, and for the PyTorch reference, measured in
// the same run: both models at 128 px, batch 32, and ConvAutoencoderV2 at the notebook's 512 px, batch 32 (in
// micro-batches where the whole batch does not fit the backend's memory, as cbir train runs it).
// Every (model, size, backend) runs in its own process on both sides, so that peak memory is its own and one model's
// heap (the wasm heap only grows) does not slow the next.
// Training is what trainAutoencoder runs: mseGradients (MSELoss of the reconstruction) and cbir's PyTorch-exact Adam.
// EncoderPool's workers load cbir's wasm kernels from cbir-core's build, which `pnpm bench:train` makes first.
// Both sides warm up for 3 s before each measurement (steady state). PyTorch runs with OPENBLAS_CORETYPE and
// OPENBLAS_L2_SIZE unset (this machine sets them; they slow OpenBLAS) and one thread per core, as cbir uses.
// Options: --quick (fewer steps, for CI), --no-512, --only-512; internal: --backend wasm|cpu --model V2|V1 --size S --batch B.
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import {
  Adam,
  ConvAutoencoder,
  ConvAutoencoderV2,
  chooseMicroBatch,
  mseGradients,
  type Autoencoder,
  type MemoryLimits,
} from 'cbir-core';
import { EncoderPool, initNodeBackend, type NodeBackendName } from 'cbir-node';

const argv = process.argv.slice(2);
const flag = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const quick = argv.includes('--quick');

interface Row {
  model: string;
  backend: string;
  size: number;
  batch: number;
  train: number;
  encode: number;
  pooled?: number;
  peakMB: number;
}

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

async function measure(
  make: () => Autoencoder,
  backend: NodeBackendName,
  batch: number,
  memory: MemoryLimits,
): Promise<Row> {
  const ae = make();
  const size = ae.inputSize;
  const x = tf.randomUniform([batch, size, size, 3], -1, 1) as tf.Tensor4D;
  const encodeStep = async () => {
    const z = ae.encode(x);
    await z.data();
    z.dispose();
  };
  const encode = (await rate(encodeStep, quick ? 1 : 3, quick ? 0 : 2000)) * batch;
  let pooled: number | undefined;
  if (backend === 'wasm') {
    const pool = await EncoderPool.create(ae);
    // The workers import cbir's kernels from cbir-core's build (`pnpm bench:train` builds it first).
    if (!pool.cbirKernels) console.error('EncoderPool: the workers run without cbir kernels (no cbir-core build)');
    const pixels = x.dataSync() as Float32Array;
    pooled = (await rate(() => pool.encode(pixels, batch), quick ? 1 : 3, quick ? 0 : 2000)) * batch;
    await pool.close();
  }
  const vars = ae.model.trainableWeights.map((w) => w.read() as tf.Variable);
  const adam = new Adam();
  // What cbir train runs: the batch in micro-batches that fit the backend's memory (one pass where it all fits).
  const microBatch = chooseMicroBatch(ae, batch, memory);
  const trainStep = async () => {
    const { loss, grads } = mseGradients(ae, x, { vars, microBatch });
    adam.apply(vars, grads);
    await loss.data();
    tf.dispose([loss, ...grads]);
  };
  // Training last: its large working set stays in the wasm heap, which never shrinks. tfjs's cpu backend takes over
  // 5 minutes per V2 step (0.01 img/s): not timed there.
  const slow = backend === 'cpu' && ae.architecture.name === 'ConvAutoencoderV2';
  const train = slow ? NaN : (await rate(trainStep, backend === 'cpu' || quick ? 1 : 3, quick ? 0 : 3000)) * batch;
  tf.dispose(x);
  adam.dispose();
  const model = ae.architecture.name;
  ae.dispose();
  return {
    model,
    backend:
      (backend === 'wasm' ? 'wasm (cbir kernels)' : backend) +
      (microBatch < batch ? `, micro-batches of ${microBatch}` : ''),
    size,
    batch,
    train,
    encode,
    pooled,
    peakMB: peakRss / 2 ** 20,
  };
}

const MODELS: Record<string, (size: number) => Autoencoder> = {
  V2: (size) => new ConvAutoencoderV2({ inputSize: size, seed: 0 }),
  V1: (size) => new ConvAutoencoder({ inputSize: size, seed: 0 }),
};

const only = flag('--backend') as NodeBackendName | undefined;
if (only) {
  const { memory } = await initNodeBackend({ prefer: [only] });
  const timer = setInterval(sample, 50);
  console.log(
    JSON.stringify(
      await measure(() => MODELS[flag('--model')!](Number(flag('--size'))), only, Number(flag('--batch')), memory),
    ),
  );
  clearInterval(timer);
  process.exit(0);
}

const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));
// JSON has no NaN (a rate not measured arrives as null).
const parse = (out: string) =>
  out
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l, (_, v) => (v === null ? NaN : v)));
// PyTorch gets as many threads as cbir uses (one per core), unless CBIR_BENCH_THREADS says otherwise.
const threads = Number(process.env.CBIR_BENCH_THREADS ?? availableParallelism());
const torchEnv = { ...process.env };
delete torchEnv.OPENBLAS_CORETYPE;
delete torchEnv.OPENBLAS_L2_SIZE;

// tfjs's cpu backend is measured at batch 4 for V2 (images/s are comparable), and only encoding.
const allConfigs: { model: string; size: number; batch: number; backends: NodeBackendName[]; cpuBatch?: number }[] = [
  { model: 'V2', size: 128, batch: 32, backends: ['wasm', 'cpu'], cpuBatch: 4 },
  { model: 'V1', size: 128, batch: 32, backends: ['wasm', 'cpu'] },
  // The notebook's own job: V2 at 512 px, batch 32 (micro-batches of 3 in the wasm heap).
  ...(argv.includes('--no-512')
    ? []
    : [{ model: 'V2', size: 512, batch: 32, backends: ['wasm'] as NodeBackendName[] }]),
];
const configs = argv.includes('--only-512') ? allConfigs.filter((c) => c.size === 512) : allConfigs;
const rows: Row[] = [];
const child = (backend: NodeBackendName, model: string, size: number, batch: number): Row[] => {
  try {
    const out = execFileSync(
      here('../node_modules/.bin/vite-node'),
      [
        '--config',
        here('../vitest.config.ts'),
        here('./train.ts'),
        '--',
        ...argv,
        '--backend',
        backend,
        '--model',
        model,
        '--size',
        String(size),
        '--batch',
        String(batch),
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    );
    return parse(out);
  } catch (e) {
    // A step that does not fit the 4 GB a wasm32 heap can address (the micro-batch estimate wrong): say so, and measure batch 2.
    console.error(
      `${model} at ${size} px, batch ${batch}, on ${backend} failed: ${String((e as Error).message).split('\n')[0]}`,
    );
    return batch > 2
      ? child(backend, model, size, 2).map((r) => ({
          ...r,
          backend: `${r.backend}; batch ${batch} failed (wasm heap)`,
        }))
      : [];
  }
};
for (const c of configs) {
  for (const backend of c.backends) {
    const got = child(backend, c.model, c.size, backend === 'cpu' ? (c.cpuBatch ?? c.batch) : c.batch);
    got.forEach((r) => console.log(JSON.stringify(r)));
    rows.push(...got);
  }
  const torchArgs = [
    '--threads',
    String(threads),
    '--batch',
    String(c.batch),
    '--size',
    String(c.size),
    '--model',
    c.model,
    ...(quick ? ['--steps', '1', '--min-seconds', '0', '--warmup-seconds', '0'] : []),
  ];
  for (const t of parse(
    execFileSync('/usr/bin/python3', [here('./torch_train.py'), ...torchArgs], { encoding: 'utf8', env: torchEnv }),
  )) {
    const row = {
      model: t.model,
      backend: `PyTorch ${t.torch} (${threads} threads)`,
      size: c.size,
      batch: c.batch,
      train: t.trainImagesPerSec,
      encode: t.encodeImagesPerSec,
      peakMB: t.peakRssMB,
    };
    console.log(JSON.stringify(row));
    rows.push(row);
  }
}

const fmt = (v: number) => (Number.isNaN(v) ? '-' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const ratio = (a: number, b: number) => (Number.isNaN(a) ? '-' : `${(a / b).toFixed(2)}x`);
console.log(
  `\nbench:train: tfjs ${tf.version_core}, node ${process.version}; tfjs's own wasm kernels run on one thread in Node; cbir's convolution kernels and EncoderPool use every core\n`,
);
console.log(
  '| model | size | backend | batch | train img/s | encode img/s | encode img/s, EncoderPool | train vs PyTorch | encode vs PyTorch (best) | peak RSS MB |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  const ref = rows.find((t) => t.model === r.model && t.size === r.size && t.backend.startsWith('PyTorch'))!;
  const best = Math.max(r.encode, r.pooled ?? 0);
  console.log(
    `| ${r.model} | ${r.size} | ${r.backend} | ${r.batch} | ${fmt(r.train)} | ${fmt(r.encode)} | ${r.pooled ? fmt(r.pooled) : '-'} | ${ratio(r.train, ref.train)} | ${ratio(best, ref.encode)} | ${r.peakMB.toFixed(0)} |`,
  );
}
