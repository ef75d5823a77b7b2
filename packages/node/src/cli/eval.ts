import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CbirError, evaluateRetrieval } from 'cbir-core';
import { loadIndex } from '../io/index-files.js';
import { positiveInt } from './model-args.js';
import { rerankerFor, type RerankChoice } from './rerank-arg.js';

const HELP = `Usage: cbir eval --index FILE [-k 1,5,10] [--rerank auto|diffusion|qe|none] [--json]

Leave-one-out retrieval quality by label: every labelled item queries the index (itself excluded); P@k and mAP,
overall and per class. --rerank auto (the default) re-ranks with the re-ranker saved with the index, if any.`;

export async function evalCmd(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { index: { type: 'string' }, k: { type: 'string', short: 'k', default: '1,5,10' }, rerank: { type: 'string', default: 'auto' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) return console.log(HELP);
  if (!values.index) throw new CbirError('INVALID_ARGUMENT', `--index is required.\n\n${HELP}`);
  const ks = values.k!.split(',').map((v) => positiveInt('k', v));
  if (!['auto', 'diffusion', 'qe', 'none'].includes(values.rerank!)) throw new CbirError('INVALID_ARGUMENT', `--rerank must be auto, diffusion, qe or none, got "${values.rerank}".`);
  const index = await loadIndex(resolve(values.index));
  const reranker = rerankerFor(index, values.rerank as RerankChoice, values.index);
  const ids = index.idList();
  const dim = index.dim;
  const data = new Float32Array(ids.length * dim);
  ids.forEach((id, i) => data.set(index.vector(id)!, i * dim));
  const labels = ids.map((id) => index.metadata(id)?.label);
  if (labels.every((l) => l === undefined)) throw new CbirError('INVALID_ARGUMENT', `${values.index} has no labels: embed a folder with class sub-folders.`);
  const report = { ...evaluateRetrieval(index, { matrix: { data, rows: ids.length, cols: dim }, ids, labels }, ks, { reranker }), rerank: reranker?.kind ?? 'none' };
  if (values.json) return console.log(JSON.stringify(report));
  const head = ['class', 'queries', ...ks.map((k) => `P@${k}`), 'mAP'];
  const row = (name: string, r: { queries: number; precisionAtK: Record<number, number>; meanAveragePrecision: number }) =>
    [name, String(r.queries), ...ks.map((k) => r.precisionAtK[k].toFixed(3)), r.meanAveragePrecision.toFixed(3)];
  const rows = [head, ...Object.entries(report.perClass).map(([l, r]) => row(l, r)), row('all', report)];
  const widths = head.map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
}
