// pnpm bench:threads-spin: what the SIMD workers' spin after each command buys. A worker polls its control word
// WORKER_SPIN times (300,000 by default) before it sleeps in Atomics.wait, so that the next kernel call, if it comes
// soon, finds it awake. Three workloads made of many kernel calls with JS work between them, each timed with the
// default spin, a short one, and none (the worker sleeps at once), in the same run; the baseline is no threads at all.
import * as tf from '@tensorflow/tfjs-core';
import { ConvAutoencoderV2, ExactEuclideanIndex, KMeans } from 'cbir-core';
import { setSimdThreads } from 'cbir-core/compute';
import { initNodeBackend, SimdThreads } from 'cbir-node';
import { clustered } from './synthetic.js';

const quick = process.argv.includes('--quick');
await initNodeBackend({ threads: 1 });

const x = clustered(quick ? 5000 : 50_000, 256, 1);
const queries = clustered(quick ? 20 : 200, 256, 2);
const kx = clustered(quick ? 5000 : 40_000, 32, 3);
const model = new ConvAutoencoderV2({ inputSize: 64, seed: 1 });
const images = tf.randomUniform([8, 64, 64, 3], 0, 1, 'float32', 1) as tf.Tensor4D;

// Each workload is set up after the threads are installed: kernels attach to the threads present when they are made.
const workloads: Record<string, () => () => void> = {
  'exact search, single queries (1 call each)': () => {
    const index = new ExactEuclideanIndex(256);
    index.add(x);
    return () => {
      for (let i = 0; i < queries.rows; i++)
        index.search({ data: queries.data.subarray(i * 256, (i + 1) * 256), rows: 1, cols: 256 }, 10);
    };
  },
  'KMeans 16 clusters (a call per iteration)': () => () =>
    void new KMeans({ nClusters: 16, nInit: 1, maxIter: 30, seed: 0 }).fit(kx),
  'V2 encode, 64 px x 8 (a call per layer)': () => () => tf.tidy(() => void model.encode(images).dataSync()),
};

function time(fn: () => void): number {
  fn();
  const runs: number[] = [];
  for (let r = 0; r < (quick ? 2 : 7); r++) {
    const t = performance.now();
    fn();
    runs.push(performance.now() - t);
  }
  return Math.min(...runs);
}

const settings: [string, number | undefined][] = [
  ['spin 300,000 (default)', undefined],
  ['spin 20,000', 20_000],
  ['spin 0', 0],
];
const table: string[][] = [];
for (const [name, setUp] of Object.entries(workloads)) {
  setSimdThreads(undefined);
  const alone = time(setUp());
  const row = [name, alone.toFixed(1)];
  for (const [, workerSpin] of settings) {
    const pool = new SimdThreads(1, workerSpin === undefined ? {} : { workerSpin });
    setSimdThreads(pool);
    row.push(time(setUp()).toFixed(1));
    setSimdThreads(undefined);
    await pool.close();
  }
  table.push(row);
}
images.dispose();
model.dispose();
console.log('\nbench:threads-spin (ms, the fastest of 7 runs; main thread plus 1 worker)\n');
console.log(`| workload | no threads | ${settings.map(([s]) => s).join(' | ')} |`);
console.log(`|---|---|${settings.map(() => '---').join('|')}|`);
for (const r of table) console.log(`| ${r.join(' | ')} |`);
