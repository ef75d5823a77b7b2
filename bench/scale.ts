// pnpm bench:scale [--n 1000000] [--d 256] [--queries 1000] [--skip-lance]: cbir's indexes at scale against usearch and
// LanceDB called directly, in the same run, on synthetic clustered vectors (seeded). Prints one table:
//   - exact batched search (ExactEuclideanIndex) against usearch's exactSearch, and single-query latency p50/p99;
//   - recall@10 against exact versus QPS for LSH (registry defaults), HnswIndex and LanceIndex at several settings,
//     beside usearch's HNSW and LanceDB's own query at the same settings (the wrapper's cost);
//   - build time, bytes on disk and the process's peak resident memory after each kind.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createIndex, ExactEuclideanIndex, recallAtK, type SearchResult } from 'cbir-core';
import { HnswIndex, LanceIndex, initNodeBackend } from 'cbir-node';
import { clustered } from './synthetic.js';

const require = createRequire(import.meta.url);
const usearch = require('usearch') as typeof import('usearch');
const arg = (name: string, def: number) => (process.argv.includes(`--${name}`) ? Number(process.argv[process.argv.indexOf(`--${name}`) + 1]) : def);
const n = arg('n', 1_000_000);
const d = arg('d', 256);
const nq = arg('queries', 1000);
const k = 10;
await initNodeBackend();

let peak = 0;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
const gb = (b: number) => (b / 2 ** 30).toFixed(2);
const rssNow = () => {
  peak = Math.max(peak, process.memoryUsage().rss);
  return peak;
};
const seconds = (t0: number) => (performance.now() - t0) / 1000;
function du(dir: string): number {
  let s = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) s += e.isDirectory() ? du(join(dir, e.name)) : statSync(join(dir, e.name)).size;
  return s;
}
function latencies(fn: (i: number) => void | Promise<void>, count: number): Promise<{ p50: number; p99: number }> {
  return (async () => {
    const t: number[] = [];
    for (let i = 0; i < count; i++) {
      const t0 = performance.now();
      await fn(i);
      t.push(performance.now() - t0);
    }
    t.sort((a, b) => a - b);
    return { p50: t[Math.floor(count * 0.5)], p99: t[Math.min(count - 1, Math.floor(count * 0.99))] };
  })();
}

// Queries from the same clusters as the data.
const all = clustered(n + nq, d, 1, 1024);
const x = { data: all.data.subarray(0, n * d), rows: n, cols: d };
const q = { data: all.data.subarray(n * d), rows: nq, cols: d };
const one = (i: number) => ({ data: q.data.subarray(i * d, (i + 1) * d), rows: 1, cols: d });
console.error(`data: ${n.toLocaleString('en-US')} x ${d}, ${nq} queries; rss ${gb(rssNow())} GB`);

const rows: string[][] = [];
const row = (...r: (string | number)[]) => rows.push(r.map(String));

// Exact.
let t0 = performance.now();
const exact = new ExactEuclideanIndex(d);
exact.add(x);
const exactBuild = seconds(t0);
t0 = performance.now();
const truth = exact.search(q, k);
const exactBatch = seconds(t0);
t0 = performance.now();
const u = usearch.exactSearch(x.data, q.data, d, k, usearch.MetricKind.L2sq);
const usearchBatch = seconds(t0);
const agree = recallAtK({ nq, k, ids: Float64Array.from(u.keys, (v) => Number(v)), distances: Float64Array.from(u.distances) }, truth);
const exactLat = await latencies((i) => void exact.search(one(i), k), 20);
row('exact (ExactEuclideanIndex)', '1.000', (nq / exactBatch).toFixed(0), `${exactLat.p50.toFixed(1)} / ${exactLat.p99.toFixed(1)}`, exactBuild.toFixed(1), '-', gb(rssNow()), `usearch exactSearch ${(nq / usearchBatch).toFixed(0)} QPS: cbir ${(usearchBatch / exactBatch).toFixed(2)}x; its recall@10 against cbir's ${agree.toFixed(3)}`);
console.error(`exact done; rss ${gb(rssNow())} GB`);

// LSH at the registry's defaults.
t0 = performance.now();
const lsh = createIndex('lsh', d);
lsh.add(x);
const lshBuild = seconds(t0);
t0 = performance.now();
const lshRes = lsh.search(q, k);
const lshQps = nq / seconds(t0);
row('LSH (registry defaults: 16 bits x 16 tables, radius 1, centred)', recallAtK(lshRes, truth).toFixed(3), lshQps.toFixed(0), '-', lshBuild.toFixed(1), '-', gb(rssNow()), '');
lsh.reset();
console.error(`lsh done; rss ${gb(rssNow())} GB`);

// HNSW: cbir's wrapper and usearch alone, the same graph parameters.
t0 = performance.now();
const hnsw = new HnswIndex(d, { connectivity: 16, expansionAdd: 128 });
hnsw.add(x);
const hnswBuild = seconds(t0);
const hnswBytes = hnsw.serialize().length;
console.error(`hnsw built in ${hnswBuild.toFixed(0)} s; rss ${gb(rssNow())} GB`);
const raw = new usearch.Index({ dimensions: d, metric: usearch.MetricKind.L2sq, quantization: usearch.ScalarKind.F32, connectivity: 16, expansion_add: 128, expansion_search: 64, multi: false });
raw.add(BigUint64Array.from({ length: n }, (_, i) => BigInt(i)), x.data, 2);
for (const ef of [32, 64, 128]) {
  const h = hnsw as unknown as { options: { expansionSearch: number }; graph: import('usearch').Index };
  // expansion_search is a construction option in usearch's JS binding: a graph per setting is too slow to build, so
  // the bench sets it on both graphs the one way the binding allows (a fresh view of the same saved graph).
  const dir = mkdtempSync(join(tmpdir(), 'cbir-scale-'));
  const file = join(dir, 'g.usearch');
  raw.save(file);
  const viewRaw = new usearch.Index({ dimensions: d, metric: usearch.MetricKind.L2sq, quantization: usearch.ScalarKind.F32, connectivity: 16, expansion_add: 128, expansion_search: ef, multi: false });
  viewRaw.view(file);
  const viewOurs = new usearch.Index({ dimensions: d, metric: usearch.MetricKind.L2sq, quantization: usearch.ScalarKind.F32, connectivity: 16, expansion_add: 128, expansion_search: ef, multi: false });
  h.graph.save(file + '2');
  viewOurs.load(file + '2');
  const saved = h.graph;
  h.graph = viewOurs;
  t0 = performance.now();
  const res = hnsw.search(q, k);
  const ours = nq / seconds(t0);
  t0 = performance.now();
  const r2 = viewRaw.search(q.data, k, 2) as import('usearch').BatchMatches;
  const theirs = nq / seconds(t0);
  const rawRes: SearchResult = { nq, k, ids: Float64Array.from(r2.keys, (v) => Number(v)), distances: Float64Array.from(r2.distances) };
  const lat = await latencies((i) => void hnsw.search(one(i), k), 200);
  row(`HnswIndex M 16, ef ${ef}`, recallAtK(res, truth).toFixed(3), ours.toFixed(0), `${lat.p50.toFixed(2)} / ${lat.p99.toFixed(2)}`, hnswBuild.toFixed(0), (hnswBytes / 2 ** 20).toFixed(0) + ' MB', gb(rssNow()),
    `usearch alone: recall ${recallAtK(rawRes, truth).toFixed(3)}, ${theirs.toFixed(0)} QPS (cbir ${(ours / theirs).toFixed(2)}x)`);
  h.graph = saved;
  rmSync(dir, { recursive: true, force: true });
}
hnsw.reset();
console.error(`hnsw done; rss ${gb(rssNow())} GB`);

// LanceDB: files on disk, IVF-PQ built through LanceDB.
if (!process.argv.includes('--skip-lance')) {
  const dir = mkdtempSync(join(tmpdir(), 'cbir-scale-lance-'));
  t0 = performance.now();
  const lance = await LanceIndex.create(dir, d);
  await lance.add(x);
  const parts = Math.max(1, Math.round(Math.sqrt(n)));
  await lance.buildAnnIndex({ type: 'ivf_pq', numPartitions: parts, numSubVectors: d / 16 });
  const lanceBuild = seconds(t0);
  const bytes = du(dir);
  const lancedb = require('@lancedb/lancedb') as typeof import('@lancedb/lancedb');
  const table = await (await lancedb.connect(dir)).openTable('cbir');
  for (const [nprobes, refine] of [[10, 1], [20, 10], [50, 10]] as const) {
    lance.searchOptions = { nprobes, refineFactor: refine };
    t0 = performance.now();
    const res = await lance.search(q, k);
    const ours = nq / seconds(t0);
    t0 = performance.now();
    for (let b = 0; b < nq; b += 64) {
      let query = table.vectorSearch(Array.from(q.data.subarray(b * d, (b + 1) * d))).distanceType('l2').limit(k).nprobes(nprobes).refineFactor(refine).select(['id', 'vector']);
      for (let i = b + 1; i < Math.min(nq, b + 64); i++) query = query.addQueryVector(Array.from(q.data.subarray(i * d, (i + 1) * d)));
      await query.toArray();
    }
    const theirs = nq / seconds(t0);
    const lat = await latencies((i) => lance.search(one(i), k).then(() => undefined), 50);
    row(`LanceIndex IVF-PQ ${parts} lists, nprobes ${nprobes}, refine ${refine}`, recallAtK(res, truth).toFixed(3), ours.toFixed(0), `${lat.p50.toFixed(1)} / ${lat.p99.toFixed(1)}`, lanceBuild.toFixed(0), (bytes / 2 ** 20).toFixed(0) + ' MB', gb(rssNow()),
      `LanceDB alone ${theirs.toFixed(0)} QPS (cbir ${(ours / theirs).toFixed(2)}x)`);
  }
  await lance.close();
  rmSync(dir, { recursive: true, force: true });
}
clearInterval(sampler);

console.log(`\nbench:scale, N = ${n.toLocaleString('en-US')} x d = ${d}, ${nq} queries from the same clusters, k = ${k}; peak RSS ${gb(peak)} GB\n`);
console.log('| index | recall@10 | QPS (batch) | single query ms p50 / p99 | build s | on disk | peak RSS GB so far | peer in the same run |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
