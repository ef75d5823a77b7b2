import { parseArgs } from 'node:util';
import { Retriever, type Index } from 'cbir-core';
import { LanceIndex } from 'cbir-node';
import { INDEX_MEANINGS, openIndexArg, storageOptionsArg } from '../index-arg.js';
import { UsageError } from '../usage.js';
import { flagList } from '../flags.js';

const MIGRATE_OPTIONS = {
  index: { type: 'string' },
  engine: { type: 'string' },
  uri: { type: 'string' },
  table: { type: 'string' },
  'storage-option': { type: 'string', multiple: true },
  overwrite: { type: 'boolean', default: false },
  ann: { type: 'string', default: 'none' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h' },
} as const;

const MIGRATE_MEANINGS = {
  index: ['FILE', 'the index file to copy'],
  engine: ['lancedb', 'the engine to copy into'],
  uri: ['DIR', 'the LanceDB database: a folder, or an s3:// or gs:// URI'],
  table: ['NAME', 'the LanceDB table (default: cbir)'],
  'storage-option': INDEX_MEANINGS['storage-option'],
  overwrite: 'replace an existing table',
  ann: ['KIND', 'build an ANN index after copying: none, ivf_pq, ivf_flat or hnsw_sq'],
  json: 'machine-readable output: one JSON object per line',
  help: 'print this help and exit',
} as const;

const MIGRATE_HELP = `Usage: cbir migrate --index FILE --engine lancedb --uri DIR [--table cbir] [--overwrite]
                    [--ann none|ivf_pq|ivf_flat|hnsw_sq] [--json]

Copies an index file (its vectors, ids, paths, labels and what made them) into a LanceDB table, so that search, eval,
add and remove run on --engine lancedb --uri DIR from then on. Euclidean kinds (exact, lsh, hnsw) become a euclidean
table, cosine kinds a cosine table.

${flagList(MIGRATE_OPTIONS, MIGRATE_MEANINGS)}`;

export async function migrate(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: MIGRATE_OPTIONS,
  });
  if (values.help) return console.log(MIGRATE_HELP);
  if (!values.index || values.engine !== 'lancedb' || !values.uri)
    throw new UsageError(`--index FILE, --engine lancedb and --uri DIR are required.\n\n${MIGRATE_HELP}`);
  if (!['none', 'ivf_pq', 'ivf_flat', 'hnsw_sq'].includes(values.ann!))
    throw new UsageError(`--ann must be none, ivf_pq, ivf_flat or hnsw_sq, got "${values.ann}".`);
  const opened = await openIndexArg({ index: values.index });
  const { retriever } = opened;
  const source = retriever.index as Index;
  const metric = source.metric === 'cosine' ? 'cosine' : 'euclidean';
  const started = Date.now();
  const target = await LanceIndex.create(values.uri, source.dim, {
    storageOptions: storageOptionsArg(values['storage-option']),
    table: values.table,
    metric,
    overwrite: values.overwrite,
    // What made the vectors moves with them (a re-ranker does not: LanceDB tables have none).
    ownerData: Retriever.ownerDataFor(source.dim, { pipeline: retriever.pipeline, extractor: retriever.extractor }),
  });
  if (source.nextId !== undefined) target.nextId = source.nextId;
  const ids = source.idList();
  // One add, so one commit: a migration stopped midway leaves the table as it was.
  const data = new Float32Array(ids.length * source.dim);
  ids.forEach((id, i) => data.set(source.vector(id)!, i * source.dim));
  await target.add(
    { data, rows: ids.length, cols: source.dim },
    ids,
    ids.map((id) => source.metadata(id)),
  );
  if (values.ann !== 'none') await target.buildAnnIndex({ type: values.ann as 'ivf_pq' });
  await target.close();
  const report = {
    stage: 'done',
    size: ids.length,
    dim: source.dim,
    metric,
    uri: values.uri,
    table: target.tableName,
    seconds: (Date.now() - started) / 1000,
  };
  if (values.json) console.log(JSON.stringify(report));
  else
    console.log(
      `migrated ${ids.length} vectors of dim ${source.dim} (${metric}) from ${values.index} into LanceDB table ${target.tableName} at ${values.uri}`,
    );
}
