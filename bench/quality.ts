// pnpm bench:quality: label-free retrieval quality on wang1k (leave-one-out by label, the query excluded), cbir's
// extractors, distances and re-rankers beside the study's Python + OpenCV reference run in the same command
// (../shared/reference/quality, with OPENBLAS_* unset so numpy runs at its best).
//   CBIR_WANG1K   the photos (default ../shared/datasets/wang1k); the benchmark says so and stops when absent
//   CBIR_QUALITY_REF  the reference scripts (default ../shared/reference/quality); skipped when absent
// Prints the table (P@10, mAP) and the time per image of extraction and of re-ranking for each side.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  averagePrecision,
  BlockExtractor,
  chiSquare,
  CosineIndex,
  DiffusionReranker,
  evaluateRetrieval,
  extractDataset,
  precisionAtK,
  QueryExpansionReranker,
  type BlockSpec,
  type Matrix,
  type Reranker,
  type SearchResult,
} from 'cbir-core';
import { directoryDataset, initNodeBackend, ParallelExtractor } from 'cbir-node';

const wang = resolve(process.env.CBIR_WANG1K ?? '../shared/datasets/wang1k');
const refDir = resolve(process.env.CBIR_QUALITY_REF ?? '../shared/reference/quality');
if (!existsSync(wang)) {
  console.log(
    `bench:quality: no wang1k at ${wang}; set CBIR_WANG1K to the folder of its 1,000 photos. Nothing measured.`,
  );
  process.exit(0);
}
await initNodeBackend();
const data = await directoryDataset(wang, { size: 'original' });
console.error(`wang1k: ${data.size} photos in ${data.labels.length} classes`);

interface Row {
  name: string;
  p10: number;
  map: number;
  extractMs?: number;
  rerankMs?: number;
  /** One query re-ranked alone, from the saved graph. */
  singleMs?: number;
}
const rows: Row[] = [];

// Decoding (sharp) and extraction on every core, as cbir features runs them (ParallelExtractor); the reference's
// scripts run on one Python thread with OpenCV's own threads.
async function extract(blocks: readonly BlockSpec[]) {
  const fx = await ParallelExtractor.create(new BlockExtractor(blocks).spec());
  const t = performance.now();
  const f = await extractDataset(data, fx);
  await fx.close();
  return { ...f, ms: (performance.now() - t) / f.matrix.rows, threads: fx.threads };
}

function evaluate(
  name: string,
  matrix: Matrix,
  labels: (string | undefined)[],
  extra: Partial<Row> = {},
  rerank?: (index: CosineIndex, first: SearchResult) => Reranker,
) {
  const index = new CosineIndex(matrix.cols);
  index.add(matrix);
  const ids = index.idList();
  let reranker: Reranker | undefined;
  let rerankMs: number | undefined;
  let singleMs: number | undefined;
  if (rerank) {
    // Timed as the reference is: from the first stage (its S = X X^T; here each item's nearest neighbours, searched
    // before the clock starts) to every query re-ranked: the graph, then all queries' diffusions solved together.
    const first = index.search(matrix, 21);
    const initialOf = (q: number) => ({
      ids: first.ids.subarray(q * first.k, (q + 1) * first.k),
      distances: first.distances.subarray(q * first.k, (q + 1) * first.k),
    });
    // One warm-up call (the JIT, and the kernel memory growing to the batch's size), as any timing of JS does.
    const initial = ids.map((_, q) => initialOf(q));
    const all = (rr: Reranker) => {
      if (rr.rerankMany) rr.rerankMany(matrix, initial, 10, ids);
      else
        initial.forEach((init, q) =>
          rr.rerank(matrix.data.subarray(q * matrix.cols, (q + 1) * matrix.cols), init, 10, ids[q]),
        );
    };
    all(rerank(index, first));
    const t = performance.now();
    reranker = rerank(index, first);
    all(reranker);
    rerankMs = (performance.now() - t) / matrix.rows;
    // One query alone (what cbir search does with the saved graph).
    const t1 = performance.now();
    for (let q = 0; q < 100; q++)
      reranker.rerank(matrix.data.subarray(q * matrix.cols, (q + 1) * matrix.cols), initial[q], 10, ids[q]);
    singleMs = (performance.now() - t1) / 100;
  }
  const r = evaluateRetrieval(index, { matrix, ids, labels }, [10], { reranker });
  const row = {
    name,
    p10: r.precisionAtK[10],
    map: r.meanAveragePrecision,
    ...extra,
    ...(rerankMs !== undefined ? { rerankMs, singleMs } : {}),
  };
  rows.push(row);
  console.error(`${name}: P@10 ${row.p10.toFixed(3)} mAP ${row.map.toFixed(3)}`);
  return index;
}

const hsv = await extract([{ kind: 'colorhist', norm: 'none' }]);
evaluate('HSV 8x12x3, cosine', hsv.matrix, hsv.labels, { extractMs: hsv.ms });
const hsvH = await extract([{ kind: 'colorhist', norm: 'hellinger' }]);
evaluate('HSV 8x12x3, Hellinger', hsvH.matrix, hsvH.labels, { extractMs: hsvH.ms });
const grid = await extract([{ kind: 'colorgrid' }]);
evaluate('HSV 16x4x4 whole + 2x2 grid, uncropped, Hellinger', grid.matrix, grid.labels, { extractMs: grid.ms });
const fused = await extract(new BlockExtractor().spec().options.blocks as BlockSpec[]);
evaluate('fusion: colour grid + LBP + colour moments + HOG', fused.matrix, fused.labels, { extractMs: fused.ms });
evaluate(
  'fusion + diffusion (k 20, alpha 0.9, gamma 3)',
  fused.matrix,
  fused.labels,
  { extractMs: fused.ms },
  (index, first) => DiffusionReranker.build(index, {}, first),
);
// Beyond the study's table: each block alone, chi-square, and query expansion (reference rows computed from the
// study's own functions in the same run).
for (const [name, kind] of [
  ['uniform LBP alone, z-scored, cosine', 'lbp'],
  ['Lab colour moments alone, z-scored, cosine', 'moments'],
  ['HOG alone, z-scored, cosine', 'hog'],
] as const) {
  const f = await extract([{ kind }]);
  evaluate(name, f.matrix, f.labels, { extractMs: f.ms });
}
evaluateByDistance('HSV 8x12x3, chi-square', hsv.matrix, hsv.labels, (a, b) => chiSquare(a, b), { extractMs: hsv.ms });
evaluate(
  'fusion + average query expansion (k 5)',
  fused.matrix,
  fused.labels,
  { extractMs: fused.ms },
  (index) => new QueryExpansionReranker(index, { k: 5 }),
);

/** Leave-one-out P@10 and mAP from a distance over all pairs (stable ties, as numpy's argsort), for distances no index ranks by. */
function evaluateByDistance(
  name: string,
  m: Matrix,
  labels: (string | undefined)[],
  dist: (a: Float32Array, b: Float32Array) => number,
  extra: Partial<Row>,
) {
  const n = m.rows;
  const row = (i: number) => m.data.subarray(i * m.cols, (i + 1) * m.cols);
  let p10 = 0;
  let ap = 0;
  for (let i = 0; i < n; i++) {
    const d = Array.from({ length: n }, (_, j) => (j === i ? Infinity : dist(row(i), row(j))));
    const order = d
      .map((_, j) => j)
      .sort((a, b) => d[a] - d[b] || a - b)
      .slice(0, n - 1);
    const relevant = (j: number) => labels[j] === labels[i];
    p10 += precisionAtK(order, relevant, 10);
    ap += averagePrecision(order, relevant, labels.filter((l) => l === labels[i]).length - 1);
  }
  rows.push({ name, p10: p10 / n, map: ap / n, ...extra });
  console.error(`${name}: P@10 ${(p10 / n).toFixed(3)} mAP ${(ap / n).toFixed(3)}`);
}

// The reference, in the same run.
const ref: Row[] = [];
let refTimes: Record<string, number> = {};
if (existsSync(join(refDir, 'wang_table.py'))) {
  const out = mkdtempSync(join(tmpdir(), 'cbir-quality-'));
  const env: NodeJS.ProcessEnv = { ...process.env, WANG_DIR: wang, QUAL_OUT: out };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const run = (args: string[]) => {
    const r = spawnSync('/usr/bin/python3', args, { cwd: refDir, env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`reference ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };
  run(['hand_feats.py', 'wang', 'hsv288,hsv16x4x4_grid2_full,lbp,cmom_lab_g3,hog']);
  refTimes = JSON.parse(readFileSync(join(out, 'wang_hand_times.json'), 'utf8')) as Record<string, number>;
  // The table, and the diffusion's time on its own (the dense inverse the study uses).
  const table = run([
    '-c',
    `
import time, numpy as np
exec(open('wang_table.py').read())
t = time.time(); F = diffusion(S, k=20, alpha=0.9); print('DIFFUSION_SECONDS', time.time() - t)
for name, f in [('uniform LBP alone, z-scored, cosine', 'lbp'), ('Lab colour moments alone, z-scored, cosine', 'cmom_lab_g3'), ('HOG alone, z-scored, cosine', 'hog')]:
    Z = block(np.load(f"{OUT}/wang_{f}.npy"), 'zcos'); row(name, 1 - Z @ Z.T)
row('HSV 8x12x3, chi-square', d_chi2(base))
row('fusion + average query expansion (k 5)', -query_expansion(X, k=5))`,
  ]);
  for (const line of table.split('\n')) {
    const m = /^\| (.+) \| ([\d.]+) \| ([\d.]+) \|$/.exec(line);
    if (m) ref.push({ name: m[1], p10: Number(m[2]), map: Number(m[3]) });
  }
  const diffusionSeconds = Number(/DIFFUSION_SECONDS ([\d.e-]+)/.exec(table)?.[1]);
  rmSync(out, { recursive: true, force: true });
  const n = data.size;
  const load = (refTimes.load + refTimes.load_full) / n;
  const per = (keys: string[]) => (1000 * keys.reduce((a, k) => a + refTimes[k], 0)) / n;
  const refExtract = [
    per(['hsv288']) + (1000 * refTimes.load) / n,
    per(['hsv288']) + (1000 * refTimes.load) / n,
    per(['hsv16x4x4_grid2_full']) + (1000 * refTimes.load_full) / n,
    per(['hsv16x4x4_grid2_full', 'lbp', 'cmom_lab_g3', 'hog']) + 1000 * load,
    per(['hsv16x4x4_grid2_full', 'lbp', 'cmom_lab_g3', 'hog']) + 1000 * load,
  ];
  ref.slice(0, 5).forEach((r, i) => (r.extractMs = refExtract[i]));
  const perBlock = {
    'uniform LBP alone, z-scored, cosine': 'lbp',
    'Lab colour moments alone, z-scored, cosine': 'cmom_lab_g3',
    'HOG alone, z-scored, cosine': 'hog',
  } as Record<string, string>;
  for (const r of ref) if (perBlock[r.name]) r.extractMs = per([perBlock[r.name]]) + (1000 * refTimes.load) / n;
  for (const r of ref) if (r.name === 'HSV 8x12x3, chi-square') r.extractMs = refExtract[0];
  for (const r of ref) if (r.name === 'fusion + average query expansion (k 5)') r.extractMs = refExtract[3];
  if (ref[4]) ref[4].rerankMs = (1000 * diffusionSeconds) / n;
} else console.error(`no reference scripts at ${refDir}: the Python columns are left empty`);

const f3 = (v?: number) => (v === undefined || Number.isNaN(v) ? '' : v.toFixed(3));
const ms = (v?: number) => (v === undefined || Number.isNaN(v) ? '' : v.toFixed(2));
console.log(
  '\n| features on wang1k | cbir P@10 | cbir mAP | reference P@10 | reference mAP | cbir ms/image (decode + extract) | reference ms/image | cbir re-rank ms/query (all) | reference re-rank ms/query (all) | cbir one query alone, ms |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|');
const refOf = (name: string) => ref.find((r) => r.name === name);
rows.forEach((r) => {
  const p = refOf(r.name);
  console.log(
    `| ${r.name} | ${f3(r.p10)} | ${f3(r.map)} | ${f3(p?.p10)} | ${f3(p?.map)} | ${ms(r.extractMs)} | ${ms(p?.extractMs)} | ${ms(r.rerankMs)} | ${ms(p?.rerankMs)} | ${ms(r.singleMs)} |`,
  );
});
const worst = rows.reduce((a, r) => {
  const p = refOf(r.name);
  return p ? Math.max(a, Math.abs(r.p10 - p.p10), Math.abs(r.map - p.map)) : a;
}, 0);
if (ref.length) console.log(`\nlargest difference from the reference: ${worst.toFixed(3)} (bar: 0.02)`);
const best = rows.find((r) => r.name.startsWith('fusion + diffusion'))!;
if (ref[4]?.rerankMs !== undefined) {
  console.log(
    `one query alone: cbir ${ms(best.singleMs)} ms from the graph saved with the index; the reference has no per-query path: one query costs its whole dense inverse, ${(ref[4].rerankMs * data.size).toFixed(0)} ms`,
  );
}
console.log(
  `default pipeline (fusion + diffusion): P@10 ${f3(best.p10)} (target 0.85), mAP ${f3(best.map)} (target 0.75)`,
);
