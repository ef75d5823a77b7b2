import { parseArgs } from 'node:util';
import {
  CbirError,
  ITEM_COLUMNS,
  evaluateRetrieval,
  evaluateRetrievalAsync,
  evaluateSearch,
  isInMemory,
  itemRow,
  readRows,
  whereFilter,
} from 'cbir-core';
import { INDEX_FLAGS, INDEX_USAGE, checkIndexArgs, openIndexArg, INDEX_MEANINGS } from '../index-arg.js';
import { positiveInt } from '../model-args.js';
import { chooseReranker, type RerankChoice } from '../rerank-arg.js';
import { UsageError } from '../usage.js';
import { flagList } from '../flags.js';

const OPTIONS = {
  ...INDEX_FLAGS,
  k: { type: 'string', short: 'k', default: '1,5,10' },
  rerank: { type: 'string', default: 'auto' },
  where: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h' },
} as const;

const MEANINGS = {
  ...INDEX_MEANINGS,
  k: ['LIST', 'the k of P@k: a list (1,5,10) or a range'],
  rerank: ['auto|diffusion|qe|none', "re-ranking: the index's saved re-ranker (auto), another, or none"],
  where: [
    'FILTER',
    'evaluate over the items this filter passes only, as cbir search --where searches ("taken >= \'2024-01-01\'")',
  ],
  json: 'machine-readable output: one JSON object per line',
  help: 'print this help and exit',
} as const;

const HELP = `Usage: cbir eval ${INDEX_USAGE} [-k 1,5,10] [--rerank auto|diffusion|qe|none] [--where FILTER] [--json]

Leave-one-out retrieval quality by label: every labelled item queries the index (itself excluded); P@k and mAP,
overall and per class. --rerank auto (the default) re-ranks with the re-ranker saved with the index, if any (LanceDB
tables have none). With --where, the items the filter passes are both the queries and the collection, searched with
the filter as cbir search --where searches (the same filtered search of each index kind).

${flagList(OPTIONS, MEANINGS)}`;

export async function evalCmd(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: OPTIONS,
  });
  if (values.help) return console.log(HELP);
  checkIndexArgs(values);
  const ks = values.k!.split(',').map((v) => positiveInt('k', v));
  if (!['auto', 'diffusion', 'qe', 'none'].includes(values.rerank!))
    throw new UsageError(`--rerank must be auto, diffusion, qe or none, got "${values.rerank}".`);
  const opened = await openIndexArg(values);
  const { retriever, name } = opened;
  const { index } = retriever;
  let scored;
  let reranker;
  try {
    reranker = chooseReranker(retriever, values.rerank as RerankChoice);
    // One scan where the engine has it (two queries per item took minutes on a LanceDB table of 10^5 rows).
    const { ids, vectors, metadata } = await readRows(index);
    const labels = metadata.map((m) => m?.label);
    if (labels.every((l) => l === undefined))
      throw new CbirError('INVALID_ARGUMENT', `${name} has no labels: embed a folder with class sub-folders.`);
    if (values.where !== undefined) {
      const where = values.where;
      const filter = whereFilter(where, ITEM_COLUMNS);
      const keep = ids.map((_, i) => i).filter((i) => filter.test(itemRow(ids[i], metadata[i])));
      if (!keep.some((i) => labels[i] !== undefined))
        throw new CbirError('INVALID_ARGUMENT', `--where "${where}" passes no labelled item of ${name}.`);
      const cols = vectors.cols;
      const data = new Float32Array(keep.length * cols);
      keep.forEach((r, j) => data.set(vectors.data.subarray(r * cols, (r + 1) * cols), j * cols));
      const subset = {
        matrix: { data, rows: keep.length, cols },
        ids: keep.map((i) => ids[i]),
        labels: keep.map((i) => labels[i]),
      };
      scored = await evaluateSearch((q, k, self) => retriever.search(q, k, { where, self }), subset, ks, keep.length);
    } else {
      const features = { matrix: vectors, ids, labels };
      scored = isInMemory(index)
        ? evaluateRetrieval(index, features, ks, { reranker })
        : await evaluateRetrievalAsync(index, features, ks);
    }
  } finally {
    await opened.close();
  }
  const report = {
    ...scored,
    rerank: reranker?.kind ?? 'none',
    ...(values.where !== undefined ? { where: values.where } : {}),
  };
  if (values.json) return console.log(JSON.stringify(report));
  const head = ['class', 'queries', ...ks.map((k) => `P@${k}`), 'mAP'];
  const row = (
    name: string,
    r: { queries: number; precisionAtK: Record<number, number>; meanAveragePrecision: number },
  ) => [name, String(r.queries), ...ks.map((k) => r.precisionAtK[k].toFixed(3)), r.meanAveragePrecision.toFixed(3)];
  const rows = [head, ...Object.entries(report.perClass).map(([l, r]) => row(l, r)), row('all', report)];
  const widths = head.map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows)
    console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
}
