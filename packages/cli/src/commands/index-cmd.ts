import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  buildReranker,
  CbirError,
  Retriever,
  createIndex,
  indexKinds,
  lshashPlanes,
  type Index,
  type LSHDistance,
} from 'cbir-core';
import { readNpz } from 'cbir-core/io';
import { loadFeatures, saveRetriever, registerNodeIndexKinds, LanceIndex, type LanceAnnOptions } from 'cbir-node';
import { INDEX_MEANINGS, storageOptionsArg } from '../index-arg.js';
import { progressPrinter } from '../progress-bar.js';
import { positiveInt } from '../model-args.js';
import { UsageError } from '../usage.js';
import { flagList } from '../flags.js';
import { abortOnCtrlC } from '../interrupt.js';

const OPTIONS = {
  features: { type: 'string' },
  ids: { type: 'string' },
  type: { type: 'string', default: 'exact' },
  out: { type: 'string' },
  'hash-size': { type: 'string', default: '12' },
  tables: { type: 'string', default: '5' },
  distance: { type: 'string', default: 'hamming' },
  'probe-radius': { type: 'string' },
  centre: { type: 'boolean', default: false },
  'fill-to-k': { type: 'boolean', default: false },
  seed: { type: 'string', default: '0' },
  planes: { type: 'string' },
  rerank: { type: 'string', default: 'none' },
  'rerank-k': { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h' },
  metric: { type: 'string', default: 'euclidean' },
  connectivity: { type: 'string' },
  'expansion-add': { type: 'string' },
  'expansion-search': { type: 'string' },
  engine: { type: 'string' },
  uri: { type: 'string' },
  table: { type: 'string' },
  'storage-option': { type: 'string', multiple: true },
  ann: { type: 'string', default: 'none' },
  partitions: { type: 'string' },
  'sub-vectors': { type: 'string' },
  overwrite: { type: 'boolean', default: false },
} as const;

const MEANINGS = {
  features: ['FILE', "a feature file, the notebook's features.pkl, or a .npy matrix"],
  ids: ['FILE.npy', "ids for a .npy matrix's rows"],
  type: ['KIND', 'exact, cosine, lsh or hnsw'],
  out: ['FILE', 'the index file to write'],
  'hash-size': ['BITS', 'lsh: bits per table'],
  tables: ['N', 'lsh: hash tables'],
  distance: ['NAME', "lsh: the ranking distance (lshashpy3's: hamming, euclidean, ...)"],
  'probe-radius': ['R', 'lsh: also probe buckets up to R bits away'],
  centre: 'lsh: centre the vectors before hashing',
  'fill-to-k': 'lsh: fill short candidate lists with exact neighbours',
  seed: ['N', "lsh: the planes' seed"],
  planes: ['FILE.npz', "lsh: lshashpy3's saved planes"],
  rerank: ['diffusion|qe|none', 'save a re-ranker with the index'],
  'rerank-k': ['K', "the re-ranker's neighbourhood"],
  json: 'machine-readable output: one JSON object per line',
  help: 'print this help and exit',
  metric: ['euclidean|cosine', 'hnsw and lancedb: the metric'],
  connectivity: ['M', 'hnsw: edges per node (default: 16)'],
  'expansion-add': ['N', "hnsw: the build's search width (default: 128)"],
  'expansion-search': ['N', 'hnsw: the search width (default: 64)'],
  engine: ['lancedb', 'write a LanceDB table instead of a file (with --uri)'],
  uri: ['DIR', 'the LanceDB database: a folder, or an s3:// or gs:// URI'],
  table: ['NAME', 'the LanceDB table (default: cbir)'],
  'storage-option': INDEX_MEANINGS['storage-option'],
  ann: ['KIND', 'lancedb: none, ivf_pq, ivf_flat or hnsw_sq'],
  partitions: ['N', 'lancedb: IVF partitions'],
  'sub-vectors': ['N', 'lancedb: PQ sub-vectors'],
  overwrite: 'lancedb: replace an existing table',
} as const;

const HELP = `Usage: cbir index --features FILE [--ids FILE.npy] (--type exact|cosine|lsh|hnsw --out FILE | --engine lancedb --uri DIR)
                  [--hash-size 12] [--tables 5] [--distance hamming] [--probe-radius R] [--centre] [--fill-to-k] [--seed 0]
                  [--planes FILE.npz] [--rerank diffusion|qe|none] [--rerank-k K]
                  [--metric euclidean|cosine] [--connectivity 16] [--expansion-add 128] [--expansion-search 64]
                  [--table cbir] [--ann none|ivf_pq|ivf_flat|hnsw_sq] [--partitions N] [--sub-vectors N] [--overwrite]

Builds an index over a feature file (row i gets id i; paths and labels are kept): a cbir feature file (cbir embed,
cbir features, cbir bow), the notebook's features.pkl (its latents flattened), or a .npy matrix [n, ...] with its
ids from --ids (a .npy of n ids; default the row numbers).
--planes imports lshashpy3's saved hyperplanes (the .npz its matrices_filename writes) so that both hash identically.
--rerank diffusion builds the collection's mutual k-NN graph (k 20 by default, --rerank-k) once and saves it with
the index: cbir search and cbir eval then re-rank by diffusion on it. --rerank qe saves query expansion (its k
neighbours, 5 by default) as the index's re-ranker. Both suit unit vectors (--type cosine, fused features).
--type hnsw builds usearch's HNSW graph (approximate; for 10^5 vectors and more): --metric, --connectivity (M),
--expansion-add (efConstruction) and --expansion-search (ef, the recall/speed dial) set it; the file holds the graph.
--engine lancedb writes the vectors, paths and labels into a LanceDB table (--table, default cbir) in the database
--uri (a folder, or an object-store URI) instead of a file; --ann builds LanceDB's own approximate index on it
(default none: exact scans). cbir search, eval, add and remove take the same --engine lancedb --uri.

${flagList(OPTIONS, MEANINGS)}`;

export async function indexCmd(argv: string[]): Promise<void> {
  registerNodeIndexKinds();
  const { values } = parseArgs({
    args: argv,
    options: OPTIONS,
  });
  if (values.help) return console.log(HELP);
  const lance = values.engine === 'lancedb';
  if (values.engine !== undefined && !lance)
    throw new UsageError(`--engine must be lancedb (or left out for an index file), got "${values.engine}".`);
  if (!values.features || (!lance && !values.out) || (lance && !values.uri))
    throw new UsageError(`--features and --out (or --engine lancedb --uri DIR) are required.\n\n${HELP}`);
  if (lance && values.out)
    throw new UsageError('--out names an index file; --engine lancedb writes into --uri instead.');
  if (values.metric !== 'euclidean' && values.metric !== 'cosine')
    throw new UsageError(`--metric must be euclidean or cosine, got "${values.metric}".`);
  if (!['none', 'ivf_pq', 'ivf_flat', 'hnsw_sq'].includes(values.ann!))
    throw new UsageError(`--ann must be none, ivf_pq, ivf_flat or hnsw_sq, got "${values.ann}".`);
  if (lance && values.rerank !== 'none')
    throw new UsageError('--rerank saves a re-ranker in an index file; LanceDB tables have none.');
  const hnswOptions = {
    metric: values.metric as 'euclidean' | 'cosine',
    ...(values.connectivity ? { connectivity: positiveInt('connectivity', values.connectivity) } : {}),
    ...(values['expansion-add'] ? { expansionAdd: positiveInt('expansion-add', values['expansion-add']) } : {}),
    ...(values['expansion-search']
      ? { expansionSearch: positiveInt('expansion-search', values['expansion-search']) }
      : {}),
  };
  const partitions = values.partitions ? positiveInt('partitions', values.partitions) : undefined;
  const subVectors = values['sub-vectors'] ? positiveInt('sub-vectors', values['sub-vectors']) : undefined;
  const rerank = values.rerank!;
  if (!['diffusion', 'qe', 'none'].includes(rerank))
    throw new UsageError(`--rerank must be diffusion, qe or none, got "${rerank}".`);
  const rerankK = values['rerank-k'] === undefined ? undefined : positiveInt('rerank-k', values['rerank-k']);
  if (rerankK !== undefined && rerank === 'none') throw new UsageError('--rerank-k needs --rerank diffusion or qe.');
  const f = await loadFeatures(values.features, { ids: values.ids });
  const dim = f.matrix.cols;
  // Integer ids (the notebook's indexes, a .npy of ids) are the index's ids; other ids (image names) are kept as paths.
  const numericIds =
    f.ids.every((id) => /^\d+$/.test(id) && Number.isSafeInteger(Number(id))) && new Set(f.ids).size === f.ids.length;
  const ids = numericIds ? f.ids.map(Number) : undefined;
  const metadata = f.ids.map((id, i) => ({
    ...f.info?.[i],
    path: f.paths?.[i] ?? (numericIds ? undefined : id),
    label: f.labels[i],
  }));
  if (lance) {
    const started = Date.now();
    const index = await LanceIndex.create(values.uri!, dim, {
      storageOptions: storageOptionsArg(values['storage-option']),
      table: values.table,
      metric: values.metric as 'euclidean' | 'cosine',
      overwrite: values.overwrite,
      ownerData: Retriever.ownerDataFor(dim, { pipeline: f.pipeline, extractor: f.extractor }),
    });
    // One commit with the rows and specs: a kill before it leaves the table as it was (or absent), never half-built.
    await index.add(f.matrix, ids, metadata);
    if (values.ann !== 'none')
      await index.buildAnnIndex({
        type: values.ann as LanceAnnOptions['type'],
        numPartitions: partitions,
        numSubVectors: subVectors,
      });
    await index.close();
    const report = {
      stage: 'done',
      engine: 'lancedb',
      uri: values.uri,
      table: index.tableName,
      size: index.size,
      dim,
      ann: values.ann,
      seconds: (Date.now() - started) / 1000,
    };
    return console.log(
      values.json
        ? JSON.stringify(report)
        : `indexed ${index.size} vectors of dim ${dim} into LanceDB table ${index.tableName} at ${values.uri}${values.ann !== 'none' ? ` (${values.ann} index built)` : ''}`,
    );
  }
  // Every kind through the registry; the options each kind takes from the flags.
  const type = values.type!;
  if (!indexKinds().includes(type))
    throw new UsageError(`--type must be one of ${indexKinds().join(', ')}, got "${type}".`);
  if (values.planes && type !== 'lsh') throw new UsageError('--planes applies to --type lsh only.');
  const kindOptions: Record<string, Record<string, unknown>> = {
    hnsw: hnswOptions,
    lsh: {
      hashSize: Number(values['hash-size']),
      numHashtables: Number(values.tables),
      distanceFunc: values.distance as LSHDistance,
      probeRadius: values['probe-radius'] === undefined ? undefined : Number(values['probe-radius']),
      centre: values.centre,
      fillToK: values['fill-to-k'],
      seed: Number(values.seed),
      planes: values.planes && type === 'lsh' ? await readPlanes(values.planes) : undefined,
    },
  };
  const index: Index = createIndex(type, dim, kindOptions[type] ?? {});
  // What made the features goes with the index, so that queries are embedded the same way.
  const retriever = new Retriever(index, { pipeline: f.pipeline, extractor: f.extractor, source: values.out });
  const started = Date.now();
  // A graph build (HNSW) takes minutes at 10^6 rows: progress, and Ctrl-C stops it between chunks with nothing
  // written. Kinds without a chunked add take the rows in one call.
  const print = progressPrinter(values.json!);
  const ctrlC = abortOnCtrlC('chunk');
  try {
    await retriever.add(f.matrix, ids, metadata, { signal: ctrlC.signal, onProgress: print });
  } finally {
    ctrlC.dispose();
  }
  if (rerank !== 'none')
    retriever.reranker = buildReranker(index, rerank as 'diffusion' | 'qe', rerankK ? { k: rerankK } : {});
  await saveRetriever(retriever, resolve(values.out!));
  const report = {
    stage: 'done',
    type: values.type,
    size: index.size,
    dim,
    rerank,
    seconds: (Date.now() - started) / 1000,
    out: values.out,
  };
  console.log(
    values.json
      ? JSON.stringify(report)
      : `indexed ${index.size} vectors of dim ${dim} (${values.type}) into ${values.out}`,
  );
}

/** lshashpy3's planes file (`np.savez_compressed`, so deflated entries) as one Float32Array per table. */
async function readPlanes(path: string): Promise<Float32Array[]> {
  const abs = resolve(path);
  const bytes = await readFile(abs).catch((cause: Error) => {
    throw new CbirError('INVALID_ARGUMENT', `--planes: cannot read ${abs}: ${cause.message}`, { cause });
  });
  return lshashPlanes(readNpz(new Uint8Array(bytes), abs));
}
