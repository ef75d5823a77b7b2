import { parseArgs } from 'node:util';
import { AbortedError } from 'cbir-core';
import { syncIndex, type SyncReport } from 'cbir-node';
import { INDEX_FLAGS, INDEX_MEANINGS, INDEX_USAGE, checkIndexArgs, openIndexArg } from '../index-arg.js';
import { WEIGHT_FILE_MEANINGS, positiveInt } from '../model-args.js';
import { progressPrinter } from '../progress-bar.js';
import { openQueryEmbedderFor } from '../query-model.js';
import { UsageError } from '../usage.js';
import { flagList } from '../flags.js';
import { abortOnCtrlC } from '../interrupt.js';

const SYNC_OPTIONS = {
  ...INDEX_FLAGS,
  data: { type: 'string' },
  model: { type: 'string' },
  arch: { type: 'string' },
  size: { type: 'string' },
  'dry-run': { type: 'boolean', default: false },
  batch: { type: 'string', default: '64' },
  'save-every': { type: 'string', default: '30' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h' },
} as const;

const SYNC_MEANINGS = {
  ...INDEX_MEANINGS,
  data: ['DIR', 'the folder the index mirrors'],
  model: ['DIR|FILE.pt', 'the model that embedded the index (autoencoder or tfjs-model features)'],
  ...WEIGHT_FILE_MEANINGS,
  'dry-run': 'print what would change; embed and write nothing',
  batch: ['N', 'files embedded and committed together'],
  'save-every': [
    'SECONDS',
    'how often an index file is rewritten while the sync runs (a LanceDB table commits each batch)',
  ],
  json: 'machine-readable output: one JSON object per line',
  help: 'print this help and exit',
} as const;

const SYNC_HELP = `Usage: cbir sync ${INDEX_USAGE} --data DIR [--model DIR|FILE.pt [--arch v1|v2] [--size S]] [--dry-run] [--json]

Brings an index up to date with a folder: new files are embedded (as the collection was: its saved extractor, or
--model) and added, files whose content changed are embedded again, items of files that are gone are removed. What
the index holds is its manifest: each item's path, size, modification time and SHA-256, recorded when it was embedded;
a file whose size and time are as recorded is not read. Items whose files lie outside DIR are left alone.

Killed at any moment (Ctrl-C, SIGKILL, a power cut), a rerun finishes the job: nothing is lost or held twice. An index
file is rewritten atomically every --save-every seconds and at the end; a LanceDB table commits each batch.

${flagList(SYNC_OPTIONS, SYNC_MEANINGS)}`;

export async function sync(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: SYNC_OPTIONS });
  if (values.help) return console.log(SYNC_HELP);
  if (!values.data) throw new UsageError(`--data DIR is required.\n\n${SYNC_HELP}`);
  checkIndexArgs(values);
  const batch = positiveInt('batch', values.batch!);
  const saveEvery = Number(values['save-every']);
  if (!(saveEvery >= 0)) throw new UsageError(`--save-every takes seconds (>= 0), got "${values['save-every']}".`);
  const opened = await openIndexArg(values);
  const { retriever, name } = opened;
  const print = progressPrinter(values.json!);
  const ctrlC = abortOnCtrlC('batch');
  const started = Date.now();
  let saved = Date.now();
  try {
    const dryRun = values['dry-run']!;
    if (!dryRun)
      retriever.embedder = await openQueryEmbedderFor(retriever, values, (m) =>
        print({ stage: 'warning', code: 'INDEX', message: m }),
      );
    let report: SyncReport;
    try {
      report = await syncIndex(retriever, values.data, {
        batch,
        dryRun,
        signal: ctrlC.signal,
        onProgress: print,
        checkpoint: async (final) => {
          if (!final && (Date.now() - saved) / 1000 < saveEvery) return;
          await opened.save();
          saved = Date.now();
        },
      });
    } catch (e) {
      // Ctrl-C: what the finished batches did is kept; a rerun does the rest.
      if (e instanceof AbortedError && !dryRun) await opened.save();
      throw e;
    }
    const summary = {
      stage: 'done',
      ...(dryRun ? { dryRun: true } : {}),
      added: report.added.length,
      changed: report.changed.length,
      touched: report.touched.length,
      removed: report.removed.length,
      duplicates: report.duplicates,
      failed: report.failed,
      unchanged: report.unchanged,
      size: report.size,
      seconds: (Date.now() - started) / 1000,
    };
    if (values.json) {
      console.log(
        JSON.stringify({
          ...summary,
          files: { added: report.added, changed: report.changed, removed: report.removed, touched: report.touched },
        }),
      );
    } else {
      const what = `${summary.added} added, ${summary.changed} changed, ${summary.touched} touched (metadata only), ${summary.removed} removed, ${summary.unchanged} unchanged`;
      console.log(
        dryRun
          ? `cbir sync --dry-run: ${name} would get ${what}`
          : `synced ${name} with ${values.data}: ${what}${summary.duplicates ? `, ${summary.duplicates} duplicate items dropped` : ''} (now ${summary.size} items, ${summary.seconds.toFixed(1)} s)`,
      );
      for (const f of report.failed) console.error(`cbir sync: skipped ${f.path}: ${f.reason}`);
    }
  } finally {
    ctrlC.dispose();
    await opened.close();
  }
}
