// pnpm bench:cluster: cbir's clustering against scikit-learn (Debian's python3-sklearn), same data, same machine, one run.
//   - KMeans fit, k = 4..9, nInit 10, on 1,000 x 4,096 and on 100,000 x 64 (Gaussian clusters, seeded);
//   - MiniBatchKMeans, k = 4..9, on the ORB descriptors of Wang-1K (32 bytes each, as the notebook feeds them), read
//     with OpenCV from $CBIR_WANG1K (default ../shared/datasets/wang1k); synthetic bytes of the same count without it;
//   - silhouette_score on 1,000 x 4,096 and 20,000 x 64 with KMeans labels.
// Each side's time is the median of 3 runs of the job. Ratios are scikit-learn's time over ours: > 1 means cbir is
// faster. --quick shrinks everything (CI smoke runs).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { KMeans, MiniBatchKMeans, Rng, silhouetteScore, type Matrix } from 'cbir-core';
import { readNpy, writeNpy } from 'cbir-core/io';
import { initNodeBackend } from 'cbir-node';
import { clustered } from './synthetic.js';

const quick = process.argv.includes('--quick');
const backend = await initNodeBackend();
const dir = resolve('bench/.cache/cluster');
mkdirSync(dir, { recursive: true });
const wang = process.env.CBIR_WANG1K ?? resolve('../shared/datasets/wang1k');

/** ORB descriptors of every Wang-1K image (OpenCV's defaults: up to 500 per image), cached as .npy. */
function orbDescriptors(): { x: Matrix; source: string } {
  const file = join(dir, 'wang1k-orb.npy');
  if (!existsSync(file) && existsSync(wang) && !quick) {
    execFileSync('/usr/bin/python3', [
      '-c',
      `
import cv2, glob, numpy as np, sys
orb = cv2.ORB_create()
ds = [orb.detectAndCompute(cv2.imread(p, cv2.IMREAD_GRAYSCALE), None)[1] for p in sorted(glob.glob(sys.argv[1] + '/*/*.jpg'))]
np.save(sys.argv[2], np.concatenate([d for d in ds if d is not None]).astype(np.float32))
`,
      wang,
      file,
    ]);
  }
  if (existsSync(file) && !quick) {
    const data = readNpy(readFileSync(file)).data as Float32Array;
    return { x: { data, rows: data.length / 32, cols: 32 }, source: 'Wang-1K ORB' };
  }
  const rng = new Rng(5);
  const n = quick ? 20_000 : 470_000;
  return {
    x: { data: Float32Array.from({ length: n * 32 }, () => rng.int(256)), rows: n, cols: 32 },
    source: 'synthetic bytes',
  };
}

const ks = quick ? [4, 5] : [4, 5, 6, 7, 8, 9];
const nInit = quick ? 2 : 10;
const big = clustered(quick ? 200 : 1000, quick ? 512 : 4096, 1, 12, 2);
const tall = clustered(quick ? 5000 : 100_000, 64, 2, 12, 2);
const orb = orbDescriptors();
const sil = { data: tall.data.subarray(0, (quick ? 2000 : 20_000) * 64), rows: quick ? 2000 : 20_000, cols: 64 };

type Job = {
  name: string;
  kind: 'kmeans' | 'minibatch' | 'silhouette';
  data: string;
  x: Matrix;
  labels?: string;
  ks?: number[];
  nInit?: number;
  batchSize?: number;
};
const jobs: Job[] = [
  {
    name: `KMeans ${big.rows}x${big.cols}, k=${ks[0]}..${ks.at(-1)}, nInit ${nInit}`,
    kind: 'kmeans',
    data: 'big.npy',
    x: big,
    ks,
    nInit,
  },
  {
    name: `KMeans ${tall.rows}x${tall.cols}, k=${ks[0]}..${ks.at(-1)}, nInit ${nInit}`,
    kind: 'kmeans',
    data: 'tall.npy',
    x: tall,
    ks,
    nInit,
  },
  {
    name: `MiniBatchKMeans ${orb.x.rows} ${orb.source}, k=${ks[0]}..${ks.at(-1)}`,
    kind: 'minibatch',
    data: 'orb.npy',
    x: orb.x,
    ks,
    nInit: 3,
    batchSize: 1024,
  },
  { name: `silhouette ${big.rows}x${big.cols}`, kind: 'silhouette', data: 'big.npy', x: big, labels: 'big-labels.npy' },
  { name: `silhouette ${sil.rows}x${sil.cols}`, kind: 'silhouette', data: 'sil.npy', x: sil, labels: 'sil-labels.npy' },
];
for (const job of jobs) writeFileSync(join(dir, job.data), writeNpy(job.x.data, [job.x.rows, job.x.cols]));
for (const [m, file] of [
  [big, 'big-labels.npy'],
  [sil, 'sil-labels.npy'],
] as const) {
  const labels = new KMeans({ nClusters: 6, seed: 0 }).fit(m).labels;
  writeFileSync(join(dir, file), writeNpy(Float32Array.from(labels), [labels.length]));
}
const labelsOf = (file: string) => Array.from(readNpy(readFileSync(join(dir, file))).data);
writeFileSync(join(dir, 'jobs.json'), JSON.stringify(jobs.map(({ x: _x, ...rest }) => rest)));

/** The median time in seconds of `runs` calls (scikit-learn's side does the same), and the last call's value. */
function timed<T>(fn: () => T, runs = quick ? 1 : 3): [number, T] {
  const times: number[] = [];
  let v!: T;
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    v = fn();
    times.push((performance.now() - t) / 1000);
  }
  return [times.sort((a, b) => a - b)[Math.floor(runs / 2)], v];
}

const ours: Record<string, { seconds: number; value: number }> = {};
for (const job of jobs) {
  let seconds: number;
  let value: number;
  if (job.kind === 'silhouette') {
    const labels = labelsOf(job.labels!);
    [seconds, value] = timed(() => silhouetteScore(job.x, labels));
  } else {
    const fit = (k: number) =>
      job.kind === 'kmeans'
        ? new KMeans({ nClusters: k, nInit: job.nInit, seed: 0 }).fit(job.x).inertia
        : new MiniBatchKMeans({ nClusters: k, nInit: job.nInit, batchSize: job.batchSize, seed: 0 }).fit(job.x).inertia;
    const [s, inertias] = timed(() => job.ks!.map(fit));
    seconds = s;
    value = inertias.reduce((a, b) => a + b, 0) / inertias.length;
  }
  ours[job.name] = { seconds, value };
  console.error(`cbir   ${job.name}: ${seconds.toFixed(2)} s`);
}
const runSklearn = (threads?: number) =>
  JSON.parse(
    execFileSync('/usr/bin/python3', [resolve('bench/sklearn_cluster.py'), dir], {
      encoding: 'utf8',
      env: threads
        ? { ...process.env, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads) }
        : process.env,
    }),
  ) as typeof ours;
const sk = runSklearn();
// scikit-learn uses both cores (OpenMP in its Cython loops, threaded OpenBLAS), and so does cbir (its SIMD kernels on
// SimdThreads, one per core). The single-thread column shows scikit-learn limited to one.
const sk1 = runSklearn(1);

console.log(`\nbackend: ${backend.name}; scikit-learn: Debian python3-sklearn, same machine, same data\n`);
console.log(
  '| job | cbir s | scikit-learn s (2 threads) | speed vs scikit-learn | scikit-learn s (1 thread) | speed vs 1 thread | cbir mean inertia / score | scikit-learn |',
);
console.log('|---|---|---|---|---|---|---|---|');
for (const job of jobs) {
  const a = ours[job.name];
  const b = sk[job.name];
  const c = sk1[job.name];
  const fmt = (v: number) => (Math.abs(v) >= 1000 ? v.toExponential(4) : v.toFixed(4));
  console.log(
    `| ${job.name} | ${a.seconds.toFixed(3)} | ${b.seconds.toFixed(3)} | ${(b.seconds / a.seconds).toFixed(2)}x | ${c.seconds.toFixed(3)} | ${(c.seconds / a.seconds).toFixed(2)}x | ${fmt(a.value)} | ${fmt(b.value)} |`,
  );
}
