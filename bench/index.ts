// pnpm bench:index: exact search and LSH against named peers, measured in the same run.
//   - exact search, N = 100,000 x d = 256 and N = 5,000 x d = 65,536: single queries and a batch of 1,000, against usearch's exactSearch, hnswlib-node's BruteforceSearch, and the notebook's plain loop
//     (a distance per item, then a sort);
//   - LSH recall@10 against exact and speed-up over exact (single queries and batched), at lshashpy3's setting (12 bits
//     x 5 tables, hamming) and at better ones, on real features: Fashion-MNIST images at 16 x 16 (bench/fashion-features.ts).
// Exact-search data: Gaussian clusters (seeded; speed does not depend on the data). --quick shrinks everything.
import { createRequire } from 'node:module';
import { ExactEuclideanIndex, LSHIndex, recallAtK } from 'cbir-core';
import { initNodeBackend } from 'cbir-node';
import { fashionFeatures } from './fashion-features.js';
import { clustered } from './synthetic.js';

const require = createRequire(import.meta.url);
const usearch = require('usearch') as typeof import('usearch');
const { BruteforceSearch } = require('hnswlib-node') as typeof import('hnswlib-node');
const quick = process.argv.includes('--quick');
// --part exact|lsh runs one half.
const part = process.argv.includes('--part') ? process.argv[process.argv.indexOf('--part') + 1] : 'all';
// The default Node backend (wasm): batched exact search runs its distance products on the backend's matMul.
const backend = await initNodeBackend();
console.error(`backend: ${backend.name}`);

function time(fn: () => void, minMs = quick ? 0 : 1500): number {
  fn();
  let n = 0;
  const t = performance.now();
  while (n < 1 || performance.now() - t < minMs) {
    fn();
    n++;
  }
  return (performance.now() - t) / n;
}

const rows: string[][] = [];
const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(2));

for (const [n, d, nBatch] of part === 'lsh'
  ? []
  : quick
    ? [[5000, 64, 50]]
    : [
        [100_000, 256, 1000],
        [5000, 65_536, 1000],
      ]) {
  const x = clustered(n, d, 1);
  const q = clustered(nBatch, d, 2);
  const one = { data: q.data.subarray(0, d), rows: 1, cols: d };
  const ours = new ExactEuclideanIndex(d);
  ours.add(x);
  const hnsw = new BruteforceSearch('l2', d);
  hnsw.initIndex(n);
  for (let i = 0; i < n; i++) hnsw.addPoint(Array.from(x.data.subarray(i * d, (i + 1) * d)), i);
  const k = 10;
  const plain = (qv: Float32Array) => {
    // The notebook's loop: a distance per item (np.linalg.norm), then sorted.
    const dist = new Array<{ i: number; d: number }>(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += (x.data[i * d + j] - qv[j]) ** 2;
      dist[i] = { i, d: Math.sqrt(s) };
    }
    return dist.sort((a, b) => a.d - b.d).slice(0, k);
  };
  const qArrays = Array.from({ length: nBatch }, (_, i) => Array.from(q.data.subarray(i * d, (i + 1) * d)));
  const single = {
    ours: time(() => ours.search(one, k)),
    usearch: time(() => usearch.exactSearch(x.data, one.data, d, k, usearch.MetricKind.L2sq)),
    hnswlib: time(() => hnsw.searchKnn(qArrays[0], k)),
    plain: time(() => plain(one.data), quick ? 0 : 500),
  };
  const batch = {
    ours: time(() => ours.search(q, k), 0),
    usearch: time(() => usearch.exactSearch(x.data, q.data, d, k, usearch.MetricKind.L2sq), 0),
    hnswlib: time(() => qArrays.forEach((a) => hnsw.searchKnn(a, k)), 0),
  };
  // Correctness check against usearch on the batch's first queries (ids; ties aside).
  const u = usearch.exactSearch(x.data, q.data.subarray(0, 5 * d), d, k, usearch.MetricKind.L2sq);
  const r = ours.search({ data: q.data.subarray(0, 5 * d), rows: 5, cols: d }, k);
  const agree = Array.from(r.ids).filter((id, i) => BigInt(id) === BigInt(u.keys[i])).length / (5 * k);
  const label = `N=${n.toLocaleString('en-US')} d=${d.toLocaleString('en-US')}`;
  rows.push([
    label,
    'single query',
    ms(single.ours),
    ms(single.usearch),
    ms(single.hnswlib),
    ms(single.plain),
    (single.usearch / single.ours).toFixed(2),
    (single.plain / single.ours).toFixed(1),
  ]);
  rows.push([
    label,
    `batch of ${nBatch}`,
    ms(batch.ours),
    ms(batch.usearch),
    ms(batch.hnswlib),
    '-',
    (batch.usearch / batch.ours).toFixed(2),
    '-',
  ]);
  console.error(`${label}: ids agree with usearch on ${(agree * 100).toFixed(0)}% of the top-10s`);
}

if (rows.length)
  console.log(`\nbench:index, exact search, ms per call (lower is better), tfjs backend ${backend.name}\n`);
if (rows.length)
  console.log(
    '| data | queries | cbir ExactEuclideanIndex | usearch exactSearch | hnswlib-node BruteforceSearch | notebook loop | usearch / cbir | loop / cbir |',
  );
if (rows.length) console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);

// LSH: recall@10 and speed-up over exact, on real image features (Fashion-MNIST at 16 x 16: an isotropic Gaussian
// cloud has no neighbours worth hashing for), queried with images that are not in the index.
if (part !== 'exact') {
  const all = fashionFeatures();
  const [n, d, nq] = quick ? [5000, 256, 20] : [100_000, 256, 200];
  const x = { data: all.data.subarray(0, n * d), rows: n, cols: d };
  const q = { data: all.data.subarray(n * d, (n + nq) * d), rows: nq, cols: d };
  const exact = new ExactEuclideanIndex(d);
  exact.add(x);
  const truth = exact.search(q, 10);
  const tBatch = time(() => exact.search(q, 10), 0) / nq;
  const tSingle =
    time(() => {
      for (let i = 0; i < Math.min(nq, 20); i++)
        exact.search({ data: q.data.subarray(i * d, (i + 1) * d), rows: 1, cols: d }, 10);
    }, 0) / Math.min(nq, 20);
  console.log(
    `\nbench:index, LSH on Fashion-MNIST 16x16 features, N=${n.toLocaleString('en-US')} d=${d}, ${nq} queries not in the index`,
  );
  console.log(`exact search: ${ms(tSingle)} ms per single query, ${ms(tBatch)} ms per query in a batch of ${nq}\n`);
  console.log(
    '| setting | recall@10 | candidates / query | build s | ms per query (batch) | speed-up over exact, single queries | over exact, batched |',
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const [name, opts] of [
    [
      "lshashpy3's: 12 bits x 5 tables, hamming (radius 1)",
      { hashSize: 12, numHashtables: 5, distanceFunc: 'hamming' as const },
    ],
    [
      '20 bits x 16 tables, radius 1, centred',
      { hashSize: 20, numHashtables: 16, distanceFunc: 'hamming' as const, centre: true },
    ],
    [
      '16 bits x 8 tables, radius 1, centred',
      { hashSize: 16, numHashtables: 8, distanceFunc: 'hamming' as const, centre: true },
    ],
  ] as const) {
    const lsh = new LSHIndex({ inputDim: d, seed: 1, ...opts });
    const t0 = performance.now();
    lsh.add(x);
    const build = (performance.now() - t0) / 1000;
    const res = lsh.search(q, 10);
    const cands = lsh.lastCandidates.reduce((a, b) => a + b, 0) / q.rows;
    const t = time(() => lsh.search(q, 10), 0) / nq;
    console.log(
      `| ${name} | ${recallAtK(res, truth).toFixed(3)} | ${cands.toFixed(0)} | ${build.toFixed(2)} | ${ms(t)} | ${(tSingle / t).toFixed(1)}x | ${(tBatch / t).toFixed(1)}x |`,
    );
  }
}
