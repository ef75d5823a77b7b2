import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { readMetadata } from 'cbir-core';
import { INDEX_FLAGS, INDEX_MEANINGS, INDEX_USAGE, checkIndexArgs, openIndexArg } from '../index-arg.js';
import { UsageError } from '../usage.js';
import { flagList } from '../flags.js';

const REMOVE_OPTIONS = {
  ...INDEX_FLAGS,
  ids: { type: 'string' },
  missing: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h' },
} as const;

const REMOVE_MEANINGS = {
  ...INDEX_MEANINGS,
  ids: ['LIST', 'ids to remove, separated by commas'],
  missing: 'remove the items whose files are gone',
  json: 'machine-readable output: one JSON object per line',
  help: 'print this help and exit',
} as const;

const REMOVE_HELP = `Usage: cbir remove ${INDEX_USAGE} (--ids 3,17,42 | --missing) [--json]

Removes items from an index: --ids by id, --missing every item whose image file no longer exists. The index file is
rewritten atomically. An index's saved re-ranker (its graph) is dropped: build it again with cbir index --rerank.

${flagList(REMOVE_OPTIONS, REMOVE_MEANINGS)}`;

export async function remove(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: REMOVE_OPTIONS,
  });
  if (values.help) return console.log(REMOVE_HELP);
  if (!values.ids === !values.missing) throw new UsageError(`one of --ids or --missing is required.\n\n${REMOVE_HELP}`);
  // Each entry must be digits: Number('') is 0, so "3," or "1,,2" would also remove item 0.
  const given = values.ids?.split(',').map((v, i, all) => {
    const n = /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n))
      throw new UsageError(
        `--ids takes non-negative integers separated by commas, got ${v.trim() === '' ? `an empty entry (number ${i + 1} of ${all.length})` : `"${v}"`} in "${values.ids}".`,
      );
    return n;
  });
  checkIndexArgs(values);
  const opened = await openIndexArg(values);
  const { retriever, name } = opened;
  const { index } = retriever;
  try {
    let ids = given ?? [];
    if (values.missing) {
      const meta = await readMetadata(index);
      ids = [...meta].filter(([, m]) => m?.path !== undefined && !existsSync(m.path)).map(([id]) => id);
    }
    const { removed, droppedReranker } = ids.length ? await retriever.remove(ids) : { removed: 0 };
    if (droppedReranker)
      process.stderr.write(
        `cbir remove: the ${droppedReranker} re-ranker saved with ${name} was dropped (its graph no longer matches the index); build it again with cbir index --rerank.\n`,
      );
    if (removed > 0) await opened.save();
    const report = { stage: 'done', removed, asked: ids.length, size: index.size };
    if (values.json) console.log(JSON.stringify(report));
    else
      console.log(
        `removed ${removed} of ${ids.length} ${values.missing ? 'missing items' : 'ids'} from ${name} (now ${index.size})`,
      );
  } finally {
    await opened.close();
  }
}
