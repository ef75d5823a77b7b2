// pnpm bench:scale [--n 1000000] [--d 256] [--queries 1000] [--skip-lance] [--only lsh,hnsw,lance] [--hnsw-quantization f32]
// [--lance-types ivf_pq16,ivf_pq4,ivf_flat]: cbir's indexes at scale,
// beside usearch and LanceDB called directly, in the same run, on synthetic clustered vectors (seeded). Prints one table:
//   - exact batched search (ExactEuclideanIndex) against usearch's exactSearch, and single-query latency p50/p99;
//   - recall@10 against exact versus QPS for LSH (registry defaults), HnswIndex and LanceIndex at several settings,
//     beside usearch's HNSW and LanceDB's own query at the same settings (the wrapper's cost);
//   - build time, bytes on disk and each kind's peak resident memory: every kind runs in a child process of its own
//     (the exact one first: it writes the ground truth the others are scored against), so peaks do not add up.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createIndex, ExactEuclideanIndex, recallAtK, type SearchResult } from 'cbir-core';
import { HnswIndex, LanceIndex, initNodeBackend } from 'cbir-node';
import { Rng } from 'cbir-core';
import { latencies } from './synthetic.js';

/** `n` data rows and `nq` query rows drawn from the same `centres` Gaussian clusters (seeded), as two matrices. */
function clusteredSplit(n: number, nq: number, d: number, seed: number, centres: number) {
  const rng = new Rng(seed);
  const c = Float32Array.from({ length: centres * d }, () => rng.normal() * 3);
  const fill = (rows: number) => {
    const data = new Float32Array(rows * d);
    for (let i = 0; i < rows; i++) {
      const k = rng.int(centres);
      for (let j = 0; j < d; j++) data[i * d + j] = c[k * d + j] + rng.normal();
    }
    return { data, rows, cols: d };
  };
  return { x: fill(n), q: fill(nq) };
}

const child = process.argv.includes('--child') ? process.argv[process.argv.indexOf('--child') + 1] : undefined;
if (!child) {
  // The parent: one child per kind, then the table.
  const passthrough = process.argv.slice(2);
  const dir = mkdtempSync(join(tmpdir(), 'cbir-scale-'));
  const only = passthrough.includes('--only') ? passthrough[passthrough.indexOf('--only') + 1].split(',') : undefined;
  const kinds = ['exact', 'lsh', 'hnsw', ...(passthrough.includes('--skip-lance') ? [] : ['lance'])].filter(
    (kd) => kd === 'exact' || !only || only.includes(kd),
  );
  const table: string[] = [];
  let header = '';
  for (const kind of kinds) {
    console.error(`--- ${kind}`);
    const root = fileURLToPath(new URL('..', import.meta.url));
    const args = [
      '--max-old-space-size=8192',
      join(root, 'node_modules/vite-node/vite-node.mjs'),
      '--config',
      join(root, 'vitest.config.ts'),
      join(root, 'bench/scale.ts'),
      '--',
      ...passthrough.filter((a) => a !== '--'),
      '--child',
      kind,
      '--truth',
      join(dir, 'truth.bin'),
    ];
    let out: string;
    try {
      out = execFileSync(process.execPath, args, {
        cwd: root,
        stdio: ['ignore', 'pipe', 'inherit'],
        maxBuffer: 1 << 26,
      }).toString();
    } catch (e) {
      // A kind that fails (or is stopped) costs its own rows only: the others are still printed.
      console.error(`--- ${kind} failed: ${(e as Error).message.split('\n')[0]}`);
      table.push(`| ${kind} | failed | | | | | | |`);
      continue;
    }
    const lines = out.split('\n').filter((l) => l.startsWith('|') || l.startsWith('bench:scale'));
    header = lines.find((l) => l.startsWith('bench:scale')) ?? header;
    const mine = lines.filter((l) => l.startsWith('| ') && !l.startsWith('| index'));
    table.push(...mine);
    // Each kind's rows as soon as they exist, so that a long run stopped later keeps them.
    for (const l of mine) console.error(l);
  }
  rmSync(dir, { recursive: true, force: true });
  console.log(`\n${header}\n`);
  console.log(
    '| index | recall@10 | QPS (batch) | single query ms p50 / p99 | build s | on disk | peak RSS GB (data alone) | peer in the same run |',
  );
  console.log('|---|---|---|---|---|---|---|---|');
  for (const l of table) console.log(l);
  process.exit(0);
}
const truthFile = process.argv[process.argv.indexOf('--truth') + 1];

const require = createRequire(import.meta.url);
const usearch = require('usearch') as typeof import('usearch');
const arg = (name: string, def: number) =>
  process.argv.includes(`--${name}`) ? Number(process.argv[process.argv.indexOf(`--${name}`) + 1]) : def;
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
  for (const e of readdirSync(dir, { withFileTypes: true }))
    s += e.isDirectory() ? du(join(dir, e.name)) : statSync(join(dir, e.name)).size;
  return s;
}
// Queries from the same clusters as the data, in buffers of their own (usearch's exactSearch reads a typed array's
// whole buffer, not the view).
const { x, q } = clusteredSplit(n, nq, d, 1, 1024);
const one = (i: number) => ({ data: q.data.subarray(i * d, (i + 1) * d), rows: 1, cols: d });
const dataRss = rssNow();
console.error(`data: ${n.toLocaleString('en-US')} x ${d}, ${nq} queries; rss ${gb(dataRss)} GB`);
const memory = () => `${gb(rssNow())} (${gb(dataRss)})`;

const rows: string[][] = [];
const row = (...r: (string | number)[]) => rows.push(r.map(String));

let t0 = performance.now();
let truth: SearchResult;
if (child === 'exact') {
  const exact = new ExactEuclideanIndex(d);
  exact.add(x);
  const exactBuild = seconds(t0);
  t0 = performance.now();
  truth = exact.search(q, k);
  const exactBatch = seconds(t0);
  writeFileSync(truthFile, new Uint8Array(truth.ids.buffer));
  t0 = performance.now();
  const u = usearch.exactSearch(x.data, q.data, d, k, usearch.MetricKind.L2sq);
  const usearchBatch = seconds(t0);
  const agree = recallAtK(
    { nq, k, ids: Float64Array.from(u.keys, (v) => Number(v)), distances: Float64Array.from(u.distances) },
    truth,
  );
  const exactLat = await latencies((i) => void exact.search(one(i), k), 20);
  row(
    'exact (ExactEuclideanIndex)',
    '1.000',
    (nq / exactBatch).toFixed(0),
    `${exactLat.p50.toFixed(1)} / ${exactLat.p99.toFixed(1)}`,
    exactBuild.toFixed(1),
    '-',
    memory(),
    `usearch exactSearch ${(nq / usearchBatch).toFixed(0)} QPS: cbir ${(usearchBatch / exactBatch).toFixed(2)}x; its recall@10 against cbir's ${agree.toFixed(3)}`,
  );
} else {
  const b = readFileSync(truthFile);
  truth = { nq, k, ids: new Float64Array(b.buffer, b.byteOffset, nq * k), distances: new Float64Array(nq * k) };
}

if (child === 'lsh') {
  t0 = performance.now();
  const lsh = createIndex('lsh', d);
  lsh.add(x);
  const lshBuild = seconds(t0);
  t0 = performance.now();
  const lshRes = lsh.search(q, k);
  const lshQps = nq / seconds(t0);
  row(
    'LSH (registry defaults: 16 bits x 16 tables, radius 1, centred)',
    recallAtK(lshRes, truth).toFixed(3),
    lshQps.toFixed(0),
    '-',
    lshBuild.toFixed(1),
    '-',
    memory(),
    '',
  );
}

// HNSW: cbir's wrapper and usearch alone, the same graph parameters.
if (child === 'hnsw') {
  t0 = performance.now();
  // --hnsw-quantization f32|f16|bf16: the graph's copy of the vectors; HnswIndex's default (f16) when not given.
  const given = process.argv.includes('--hnsw-quantization')
    ? (process.argv[process.argv.indexOf('--hnsw-quantization') + 1] as 'f32' | 'f16' | 'bf16')
    : undefined;
  const hnsw = new HnswIndex(d, { connectivity: 16, expansionAdd: 128, ...(given ? { quantization: given } : {}) });
  const { quantization } = hnsw.options;
  hnsw.add(x);
  const hnswBuild = seconds(t0);
  const hnswMemory = memory(); // before saving, which holds the graph's bytes once more
  const hnswBytes = hnsw.serializeParts().reduce((a, p) => a + p.length, 0); // what saveIndex writes, chunk by chunk
  const serializePeak = gb(rssNow());
  console.error(`hnsw built in ${hnswBuild.toFixed(0)} s; rss ${gb(rssNow())} GB`);
  // usearch alone searches the very graph HnswIndex built (saved and loaded), so the two differ only by the wrapper.
  const rawFile = join(mkdtempSync(join(tmpdir(), 'cbir-scale-')), 'raw.usearch');
  (hnsw as unknown as { graph: import('usearch').Index }).graph.save(rawFile);
  for (const ef of [16, 32, 64, 128]) {
    // usearch takes expansion_search when a graph is made: both graphs are handed to new ones with this ef.
    hnsw.setExpansionSearch(ef);
    const viewRaw = new usearch.Index({
      dimensions: d,
      metric: usearch.MetricKind.L2sq,
      quantization: { f32: usearch.ScalarKind.F32, f16: usearch.ScalarKind.F16, bf16: usearch.ScalarKind.BF16 }[
        quantization
      ],
      connectivity: 16,
      expansion_add: 128,
      expansion_search: ef,
      multi: false,
    });
    viewRaw.load(rawFile);
    // Both warmed once (the first pass pages the loaded graph in), then timed alternately, best of three.
    const res = hnsw.search(q, k);
    const r2 = viewRaw.search(q.data, k, 2) as import('usearch').BatchMatches;
    let ours = 0;
    let theirs = 0;
    for (let rep = 0; rep < 3; rep++) {
      t0 = performance.now();
      hnsw.search(q, k);
      ours = Math.max(ours, nq / seconds(t0));
      t0 = performance.now();
      viewRaw.search(q.data, k, 2);
      theirs = Math.max(theirs, nq / seconds(t0));
    }
    const rawRes: SearchResult = {
      nq,
      k,
      ids: Float64Array.from(r2.keys, (v) => Number(v)),
      distances: Float64Array.from(r2.distances),
    };
    const lat = await latencies((i) => void hnsw.search(one(i), k), 200);
    row(
      `HnswIndex M 16, ef ${ef}, ${quantization}`,
      recallAtK(res, truth).toFixed(3),
      ours.toFixed(0),
      `${lat.p50.toFixed(2)} / ${lat.p99.toFixed(2)}`,
      hnswBuild.toFixed(0),
      (hnswBytes / 2 ** 20).toFixed(0) + ' MB',
      hnswMemory,
      `saving peaks at ${serializePeak} GB; usearch alone: recall ${recallAtK(rawRes, truth).toFixed(3)}, ${theirs.toFixed(0)} QPS (cbir ${(ours / theirs).toFixed(2)}x)`,
    );
  }
  rmSync(rawFile, { force: true });
}

// LanceDB: files on disk, IVF-PQ built through LanceDB.
if (child === 'lance') {
  const dir = mkdtempSync(join(tmpdir(), 'cbir-scale-lance-'));
  t0 = performance.now();
  const lance = await LanceIndex.create(dir, d);
  await lance.add(x);
  const addSeconds = seconds(t0);
  const parts = Math.max(1, Math.round(Math.sqrt(n)));
  const lancedb = require('@lancedb/lancedb') as typeof import('@lancedb/lancedb');
  const table = await (await lancedb.connect(dir)).openTable('cbir');
  // Each index built in turn on the same table: IVF-PQ with 16-dimensional sub-vectors (LanceDB's default size), whose
  // codes barely tell apart the members of one Gaussian cluster, refined by the exact distances of refineFactor x k
  // rows; IVF-PQ with 4-dimensional sub-vectors (finer codes, 4x the bytes); IVF-flat (exact distances within the
  // probed lists). --lance-types picks some of them (ivf_pq16,ivf_pq4,ivf_flat).
  const settings = {
    ivf_pq16: {
      type: 'ivf_pq',
      sub: 16,
      runs: [
        [10, 1],
        [20, 10],
        [50, 10],
      ],
    },
    ivf_pq4: {
      type: 'ivf_pq',
      sub: 4,
      runs: [
        [20, 10],
        [20, 50],
      ],
    },
    ivf_flat: {
      type: 'ivf_flat',
      sub: 0,
      runs: [
        [10, 1],
        [20, 1],
      ],
    },
  } as const;
  const picked = (
    process.argv.includes('--lance-types')
      ? process.argv[process.argv.indexOf('--lance-types') + 1].split(',')
      : Object.keys(settings)
  ) as (keyof typeof settings)[];
  for (const name of picked) {
    const { type, sub, runs } = settings[name];
    t0 = performance.now();
    await lance.buildAnnIndex({ type, numPartitions: parts, ...(sub ? { numSubVectors: d / sub } : {}) });
    const lanceBuild = addSeconds + seconds(t0);
    // The peer's handle was opened before the index existed: without this it would keep scanning that version.
    await table.checkoutLatest();
    const bytes = du(dir);
    for (const [nprobes, refine] of runs) {
      lance.searchOptions = { nprobes, ...(refine > 1 ? { refineFactor: refine } : {}) };
      t0 = performance.now();
      const res = await lance.search(q, k);
      const ours = nq / seconds(t0);
      t0 = performance.now();
      for (let b = 0; b < nq; b += 64) {
        let query = table
          .vectorSearch(Array.from(q.data.subarray(b * d, (b + 1) * d)))
          .distanceType('l2')
          .limit(k)
          .nprobes(nprobes)
          .select(['id', 'vector', '_distance']);
        if (refine > 1) query = query.refineFactor(refine);
        for (let i = b + 1; i < Math.min(nq, b + 64); i++)
          query = query.addQueryVector(Array.from(q.data.subarray(i * d, (i + 1) * d)));
        await query.toArray();
      }
      const theirs = nq / seconds(t0);
      const lat = await latencies((i) => lance.search(one(i), k).then(() => undefined), 50);
      row(
        `LanceIndex ${sub ? `IVF-PQ (${d / sub} sub-vectors)` : 'IVF-flat'} ${parts} lists, nprobes ${nprobes}${refine > 1 ? `, refine ${refine}` : ''}`,
        recallAtK(res, truth).toFixed(3),
        ours.toFixed(0),
        `${lat.p50.toFixed(1)} / ${lat.p99.toFixed(1)}`,
        lanceBuild.toFixed(0),
        (bytes / 2 ** 20).toFixed(0) + ' MB',
        memory(),
        `LanceDB alone ${theirs.toFixed(0)} QPS (cbir ${(ours / theirs).toFixed(2)}x)`,
      );
    }
  }
  await lance.close();
  rmSync(dir, { recursive: true, force: true });
}
clearInterval(sampler);

console.log(
  `bench:scale, N = ${n.toLocaleString('en-US')} x d = ${d}, ${nq} queries from the same 1,024 clusters, k = ${k}; each kind in a process of its own`,
);
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
