// pnpm bench:filter [--n 1000000] [--d 256] [--queries 200] [--skip-hnsw] [--skip-lance]: filtered search at scale.
// Synthetic clustered vectors (seeded) with metadata on every row (bytes uniform in [0, 10^6), a label, a date taken);
// filters on `bytes` pass 50%, 5% and 0.5% of the rows, independently of where the vectors lie (the hard case for a
// graph). For the exact index, HNSW and a LanceDB table (no ANN index: LanceDB's exact scan with its prefilter), each
// through cbir's Retriever.search(queries, 10, { where }), it prints recall@10 against the exact filtered answer,
// queries per second for a batch, the first query with a filter (which works out which items pass it: O(n) over the
// metadata on the embedded kinds, remembered until the index changes) and single-query latency, beside the unfiltered
// search of the same index and LanceDB's own filtered query (table.vectorSearch().where()) in the same run.
// Run nothing else meanwhile: every figure is a time on this machine's cores.
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExactEuclideanIndex, Retriever, Rng, recallAtK, type Matrix, type SearchResult } from 'cbir-core';
import { HnswIndex, LanceIndex, initNodeBackend } from 'cbir-node';
import { clustered, latencies } from './synthetic.js';

const arg = (name: string, fallback: number) =>
  process.argv.includes(`--${name}`) ? Number(process.argv[process.argv.indexOf(`--${name}`) + 1]) : fallback;
const n = arg('n', 1_000_000);
const d = arg('d', 256);
const nq = arg('queries', 200);
const k = 10;
const seconds = (t0: number) => (performance.now() - t0) / 1000;
const memory = () => `${(process.memoryUsage().rss / 2 ** 30).toFixed(2)} GB`;

// The backend cbir would use (its SIMD kernels and threads run the exact scans).
await initNodeBackend();
console.error(`bench:filter: ${n.toLocaleString('en')} x ${d}, ${nq} queries, k ${k}`);
let t0 = performance.now();
const all = clustered(n + nq, d, 35, 1024);
const x: Matrix = { data: all.data.subarray(0, n * d), rows: n, cols: d };
const q: Matrix = { data: all.data.slice(n * d), rows: nq, cols: d };
const rng = new Rng(36);
const metadata = Array.from({ length: n }, (_, i) => ({
  bytes: Math.floor(rng.next() * 1_000_000),
  label: `c${i % 10}`,
  taken: new Date(Date.UTC(2020, 0, 1) + Math.floor(rng.next() * 5 * 365) * 86_400_000).toISOString(),
}));
console.error(`data ${seconds(t0).toFixed(1)} s, ${memory()}`);

const FILTERS = [
  ['50%', 'bytes < 500000'],
  ['5%', 'bytes < 50000'],
  ['0.5%', 'bytes < 5000'],
] as const;
const share = (where: string) => {
  const limit = Number(/< (\d+)/.exec(where)![1]);
  return metadata.filter((m) => m.bytes < limit).length / n;
};

const one = (i: number): Matrix => ({ data: q.data.subarray(i * d, (i + 1) * d), rows: 1, cols: d });
async function latency(run: (i: number) => Promise<unknown>): Promise<string> {
  const { p50, p99 } = await latencies(run, Math.min(20, nq));
  return `${p50.toFixed(1)} / ${p99.toFixed(1)}`;
}

const rows: string[] = [];
const row = (...cells: string[]) => {
  const line = `| ${cells.join(' | ')} |`;
  rows.push(line);
  console.error(line);
};

/** Each filter through a retriever: recall against the truth, batch QPS, single-query latency. */
async function measure(
  name: string,
  retriever: Retriever,
  truth: Map<string, SearchResult> | undefined,
  build: string,
  peer?: (where: string) => Promise<string>,
): Promise<Map<string, SearchResult>> {
  const out = new Map<string, SearchResult>();
  // Untimed: what a kind prepares on its first batch (the exact index's int16 copy of the rows).
  await retriever.search({ data: q.data.subarray(0, 16 * d), rows: 16, cols: d }, k);
  t0 = performance.now();
  await retriever.search(q, k);
  const plain = nq / seconds(t0);
  const plainLatency = await latency((i) => retriever.search(one(i), k));
  row(name, 'none', '100%', truth ? '-' : '1.000', plain.toFixed(1), '-', plainLatency, build, memory(), '');
  for (const [label, where] of FILTERS) {
    // The first search with a filter works out which items pass it (the embedded kinds read every item's metadata);
    // the retriever then remembers that until the index changes: the time of that first pass is its own column.
    t0 = performance.now();
    await retriever.search(one(0), k, { where });
    const firstMs = seconds(t0) * 1000;
    t0 = performance.now();
    const res = await retriever.search(q, k, { where });
    const qps = nq / seconds(t0);
    out.set(where, res);
    const lat = await latency((i) => retriever.search(one(i), k, { where }));
    const recall = truth ? recallAtK(res, truth.get(where)!).toFixed(3) : '1.000';
    row(
      name,
      where,
      `${label} (${(share(where) * 100).toFixed(2)}%)`,
      recall,
      qps.toFixed(1),
      firstMs.toFixed(0),
      lat,
      '',
      memory(),
      peer ? await peer(where) : `${(qps / plain).toFixed(2)}x its unfiltered QPS`,
    );
  }
  return out;
}

// The exact index: the truth (its filtered search is exact, held to a float64 oracle in the tests).
t0 = performance.now();
const exact = new ExactEuclideanIndex(d);
exact.add(x, undefined, metadata);
const truth = await measure('exact', new Retriever(exact), undefined, `${seconds(t0).toFixed(1)} s`);

if (!process.argv.includes('--skip-hnsw')) {
  t0 = performance.now();
  const hnsw = new HnswIndex(d);
  await hnsw.addAsync(x, undefined, metadata);
  const built = `${seconds(t0).toFixed(0)} s`;
  hnsw.setExpansionSearch(128);
  await measure('HNSW (M 16, ef 128, f16)', new Retriever(hnsw), truth, built);
}

if (!process.argv.includes('--skip-lance')) {
  const dir = mkdtempSync(join(tmpdir(), 'cbir-filter-'));
  try {
    t0 = performance.now();
    const lance = await LanceIndex.create(join(dir, 'db'), d);
    await lance.add(x, undefined, metadata);
    const built = `${seconds(t0).toFixed(0)} s`;
    const lancedb = createRequire(import.meta.url)('@lancedb/lancedb') as typeof import('@lancedb/lancedb');
    const table = await (await lancedb.connect(join(dir, 'db'))).openTable('cbir');
    // LanceDB's own filtered query, the same batch of queries, the same SQL (what cbir's whereToSql renders).
    // In batches as cbir's LanceIndex sends them to a table without an ANN index (a flat scan holds about the table's
    // vectors per query of a batch: 64 at once ran out of memory at 10^6 rows).
    const batch = Math.max(1, Math.min(64, Math.floor(2 ** 29 / (n * d * 4))));
    const peer = async (where: string) => {
      const t = performance.now();
      for (let b = 0; b < nq; b += batch) {
        let query = table
          .vectorSearch(Array.from(q.data.subarray(b * d, (b + 1) * d)))
          .distanceType('l2')
          .where(where)
          .limit(k)
          .select(['id', '_distance']);
        for (let i = b + 1; i < Math.min(nq, b + batch); i++)
          query = query.addQueryVector(Array.from(q.data.subarray(i * d, (i + 1) * d)));
        await query.toArray();
      }
      return `LanceDB alone ${(nq / seconds(t)).toFixed(1)} QPS`;
    };
    await measure('LanceDB (no ANN index)', new Retriever(lance), truth, built, peer);
    table.close();
    await lance.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(
  `bench:filter: ${n.toLocaleString('en')} x ${d}, ${nq} queries, k ${k}, 1,024 clusters; node ${process.version}`,
);
console.log(
  '| index | filter | passes | recall@10 | QPS (batch) | first query with the filter, ms | single query ms p50 / p99 | build | RSS | beside |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
