import { parseArgs } from 'node:util';
import { CbirError, evaluateRetrieval, evaluateRetrievalAsync, isInMemory, readRows } from 'cbir-core';
import { INDEX_FLAGS, INDEX_USAGE, checkIndexArgs, openIndexArg, INDEX_MEANINGS } from '../index-arg.js';
import { positiveInt } from '../model-args.js';
import { chooseReranker, type RerankChoice } from '../rerank-arg.js';
import { UsageError } from '../usage.js';
import { flagList } from '../flags.js';

const OPTIONS = {
  ...INDEX_FLAGS,
  k: { type: 'string', short: 'k', default: '1,5,10' },
  rerank: { type: 'string', default: 'auto' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h' },
} as const;

const MEANINGS = {
  ...INDEX_MEANINGS,
  k: ['LIST', 'the k of P@k: a list (1,5,10) or a range'],
  rerank: ['auto|diffusion|qe|none', "re-ranking: the index's saved re-ranker (auto), another, or none"],
  json: 'machine-readable output: one JSON object per line',
  help: 'print this help and exit',
} as const;

const HELP = `Usage: cbir eval ${INDEX_USAGE} [-k 1,5,10] [--rerank auto|diffusion|qe|none] [--json]

Leave-one-out retrieval quality by label: every labelled item queries the index (itself excluded); P@k and mAP,
overall and per class. --rerank auto (the default) re-ranks with the re-ranker saved with the index, if any (LanceDB
tables have none).

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
    const features = { matrix: vectors, ids, labels };
    scored = isInMemory(index)
      ? evaluateRetrieval(index, features, ks, { reranker })
      : await evaluateRetrievalAsync(index, features, ks);
  } finally {
    await opened.close();
  }
  const report = { ...scored, rerank: reranker?.kind ?? 'none' };
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
