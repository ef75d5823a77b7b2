import { existsSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  CbirError,
  createExtractor,
  embedImages,
  extractDataset,
  readModelFingerprint,
  pipelineMismatch,
  type AsyncIndex,
  type ImageDataset,
  type Index,
  type ItemMetadata,
  type Matrix,
} from 'cbir-core';
import { initNodeBackend } from '../backend.js';
import { directoryDataset, skippedNote, type DirectoryDataset } from '../dataset/directory-dataset.js';
import { loadOpenCv } from '../features/load-opencv.js';
import { LanceIndex } from '../indexes/lance-index.js';
import { loadTfjsModel } from '../io/tfjs-model.js';
import { INDEX_FLAGS, INDEX_USAGE, checkIndexArgs, openIndexArg, INDEX_MEANINGS } from './index-arg.js';
import { loadModelArg, WEIGHT_FILE_MEANINGS } from './model-args.js';
import { HnswIndex } from '../indexes/hnsw-index.js';
import { progressPrinter } from './progress-bar.js';
import { UsageError } from './usage.js';
import { flagList } from './flags.js';
import { abortOnCtrlC } from './interrupt.js';

const ADD_OPTIONS = {
  ...INDEX_FLAGS,
  data: { type: 'string' },
  model: { type: 'string' },
  arch: { type: 'string' },
  size: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h' },
} as const;

const ADD_MEANINGS = {
  ...INDEX_MEANINGS,
  data: ['DIR', 'the folder whose new images are added'],
  model: ['DIR|FILE.pt', 'the model that embedded the index (for autoencoder features)'],
  ...WEIGHT_FILE_MEANINGS,
  json: 'machine-readable output: one JSON object per line',
  help: 'print this help and exit',
} as const;

const ADD_HELP = `Usage: cbir add ${INDEX_USAGE} --data DIR [--model DIR|FILE.pt [--arch v1|v2] [--size S]] [--json]

Adds the images of a folder that the index does not hold yet (by path) to it: each is embedded exactly as the indexed
collection was (the extractor and its fitted statistics, or the model and reducer, saved with the index; an
autoencoder index needs the same --model, and refuses one with other weights). The index file is rewritten atomically;
a LanceDB table takes the rows as they come. An index's saved re-ranker (its graph) is dropped: build it again with
cbir index --rerank.

${flagList(ADD_OPTIONS, ADD_MEANINGS)}`;

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

const MIGRATE_OPTIONS = {
  index: { type: 'string' },
  engine: { type: 'string' },
  uri: { type: 'string' },
  table: { type: 'string' },
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

/** Every id and metadata of an index, through `await` (engines answer in one scan). */
async function allMetadata(index: Index | AsyncIndex): Promise<Map<number, ItemMetadata | undefined>> {
  if (index instanceof LanceIndex) return index.allMetadata();
  const out = new Map<number, ItemMetadata | undefined>();
  for (const id of await index.idList()) out.set(id, await index.metadata(id));
  return out;
}

/** A path as the file system resolves it (symbolic links followed), or as given when it is gone. */
function canonical(path: string): string {
  try {
    return realpathSync.native(path);
  } catch {
    return resolve(path);
  }
}

/** `data` without the items whose file is in `have` (canonical paths: a folder reached through a link is the same). */
function without(data: DirectoryDataset, have: Set<string>): ImageDataset & { paths: string[] } {
  const keep = Array.from({ length: data.size }, (_, i) => i).filter((i) => !have.has(canonical(data.path(i))));
  return {
    size: keep.length,
    imageSize: data.imageSize,
    entry: (i) => data.entry(keep[i]),
    read: (i) => data.read(keep[i]),
    paths: keep.map((i) => data.path(i)),
  };
}

export async function add(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: ADD_OPTIONS,
  });
  if (values.help) return console.log(ADD_HELP);
  if (!values.data) throw new UsageError(`--data DIR is required.\n\n${ADD_HELP}`);
  checkIndexArgs(values);
  const opened = await openIndexArg(values);
  const { index, name } = opened;
  try {
    const print = progressPrinter(values.json!);
    const started = Date.now();
    const meta = await allMetadata(index);
    const have = new Set(
      [...meta.values()]
        .map((m) => m?.path)
        .filter((p): p is string => p !== undefined)
        .map(canonical),
    );
    // Ids are never given twice: past every id the index holds or ever held (its saved nextId).
    let next = index.nextId ?? 0;
    for (const id of meta.keys()) if (id >= next) next = id + 1;
    let matrix: Matrix;
    let fresh: ImageDataset & { paths: string[] };
    let skipped: readonly string[];
    let dispose = () => {};
    if (index.extractor) {
      if (values.model && index.extractor.kind !== 'tfjs-model')
        throw new CbirError(
          'INVALID_ARGUMENT',
          `${name} holds ${index.extractor.kind} features, which cbir extracts itself: drop --model.`,
        );
      if (!values.model && index.extractor.kind === 'tfjs-model')
        throw new CbirError(
          'INVALID_ARGUMENT',
          `${name} holds features of a tfjs model: pass it with --model DIR|model.json|URL.`,
        );
      if (values.model) await initNodeBackend();
      const model = values.model
        ? await loadTfjsModel(/^https?:/.test(values.model) ? values.model : resolve(values.model))
        : undefined;
      const cv = index.extractor.kind === 'bow' ? await loadOpenCv() : undefined;
      const fx = await createExtractor(index.extractor, { model, cv });
      dispose = () => {
        fx.dispose();
        model?.dispose?.();
      };
      const data = await directoryDataset(resolve(values.data), {
        size: fx.imageSize === 'original' ? 'original' : fx.imageSize,
      });
      if (data.skipped.length) process.stderr.write(`${skippedNote(data)}\n`);
      fresh = without(data, have);
      // The fitted statistics of the collection, not refitted on the new images: they must land where the old ones are.
      const f =
        fresh.size === 0 ? nothingNew(index.dim) : await extractDataset(fresh, fx, { onProgress: print, refit: false });
      matrix = f.matrix;
      skipped = f.skipped;
      fresh = keepIds(fresh, f.ids);
    } else if (index.pipeline) {
      if (!values.model)
        throw new CbirError(
          'INVALID_ARGUMENT',
          `${name} holds autoencoder features: pass the model that embedded them with --model DIR|FILE.pt.`,
        );
      await initNodeBackend();
      const { model } = await loadModelArg(resolve(values.model), { arch: values.arch, size: values.size });
      dispose = () => model.dispose();
      const why = pipelineMismatch(index.pipeline, {
        architecture: model.architecture.name,
        inputSize: model.inputSize,
        model: await readModelFingerprint(model),
      });
      if (why)
        throw new CbirError(
          'INVALID_ARGUMENT',
          `--model ${values.model} is not the model that embedded ${name}: ${why}.`,
        );
      const data = await directoryDataset(resolve(values.data), { size: model.inputSize });
      if (data.skipped.length) process.stderr.write(`${skippedNote(data)}\n`);
      fresh = without(data, have);
      const f =
        fresh.size === 0
          ? nothingNew(index.dim)
          : await embedImages(model, fresh, { reducer: index.pipeline.reducer, onProgress: print });
      matrix = f.matrix;
      skipped = f.skipped;
      fresh = keepIds(fresh, f.ids);
    } else {
      throw new CbirError(
        'INVALID_ARGUMENT',
        `${name} does not record what made its vectors (no model fingerprint or extractor): rebuild it with cbir embed or cbir features, then cbir index.`,
      );
    }
    dispose();
    if (matrix.rows > 0) {
      const ids = Array.from({ length: matrix.rows }, (_, i) => next + i);
      const metadata = fresh.paths.map((path, i) => ({ path, label: fresh.entry(i).label }));
      if (index instanceof HnswIndex) {
        const ctrlC = abortOnCtrlC('chunk');
        try {
          await index.addAsync(matrix, ids, metadata, { signal: ctrlC.signal, onProgress: print });
        } finally {
          ctrlC.dispose();
        }
      } else await index.add(matrix, ids, metadata);
      if ('rerank' in index && index.rerank) {
        index.rerank = undefined;
        process.stderr.write(
          `cbir add: the re-ranker saved with ${name} was dropped (its graph no longer covers the index); build it again with cbir index --rerank.\n`,
        );
      }
      await opened.save();
    }
    const report = {
      stage: 'done',
      added: matrix.rows,
      skipped: skipped.length,
      size: index.size,
      seconds: (Date.now() - started) / 1000,
    };
    if (values.json) console.log(JSON.stringify(report));
    else if (matrix.rows === 0 && skipped.length === 0)
      console.log(`0 new images in ${values.data}: ${name} holds every one already (${index.size} items)`);
    else
      console.log(
        `added ${matrix.rows} images to ${name} (now ${index.size})${skipped.length ? `; ${skipped.length} unreadable files skipped: ${skipped.join(', ')}` : ''}`,
      );
  } finally {
    await opened.close();
  }
}

/** What extraction gives for a folder with nothing new: no rows, nothing skipped (a rerun is a success). */
function nothingNew(dim: number): { matrix: Matrix; ids: string[]; skipped: string[] } {
  return { matrix: { data: new Float32Array(0), rows: 0, cols: dim }, ids: [], skipped: [] };
}

/** The items of `d` whose entry id is in `ids` (those that decoded), in that order. */
function keepIds(d: ImageDataset & { paths: string[] }, ids: readonly string[]): ImageDataset & { paths: string[] } {
  const at = new Map(Array.from({ length: d.size }, (_, i) => [d.entry(i).id, i] as const));
  const keep = ids.map((id) => at.get(id)!);
  return {
    size: keep.length,
    imageSize: d.imageSize,
    entry: (i) => d.entry(keep[i]),
    read: (i) => d.read(keep[i]),
    paths: keep.map((i) => d.paths[i]),
  };
}

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
  const { index, name } = opened;
  try {
    let ids = given ?? [];
    if (values.missing) {
      const meta = await allMetadata(index);
      ids = [...meta].filter(([, m]) => m?.path !== undefined && !existsSync(m.path)).map(([id]) => id);
    }
    const removed = ids.length ? await index.remove(ids) : 0;
    if (removed > 0) {
      if ('rerank' in index && index.rerank) {
        index.rerank = undefined;
        process.stderr.write(
          `cbir remove: the re-ranker saved with ${name} was dropped; build it again with cbir index --rerank.\n`,
        );
      }
      await opened.save();
    }
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
  const source = opened.index as Index;
  const metric = source.metric === 'cosine' ? 'cosine' : 'euclidean';
  const started = Date.now();
  const target = await LanceIndex.create(values.uri, source.dim, {
    table: values.table,
    metric,
    overwrite: values.overwrite,
  });
  target.pipeline = source.pipeline;
  target.extractor = source.extractor;
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
