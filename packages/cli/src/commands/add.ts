import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  CbirError,
  createExtractor,
  embedImages,
  extractDataset,
  readModelFingerprint,
  pipelineMismatch,
  readMetadata,
  type ImageDataset,
  type Matrix,
} from 'cbir-core';
import {
  initNodeBackend,
  directoryDataset,
  skippedNote,
  type DirectoryDataset,
  loadOpenCv,
  loadTfjsModel,
  readImageInfos,
  canonicalPath,
} from 'cbir-node';
import { INDEX_FLAGS, INDEX_MEANINGS, INDEX_USAGE, checkIndexArgs, openIndexArg } from '../index-arg.js';
import { loadModelArg, WEIGHT_FILE_MEANINGS } from '../model-args.js';
import { progressPrinter } from '../progress-bar.js';
import { UsageError } from '../usage.js';
import { flagList } from '../flags.js';
import { abortOnCtrlC } from '../interrupt.js';

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

/** `data` without the items whose file is in `have` (canonical paths: a folder reached through a link is the same). */
function without(data: DirectoryDataset, have: Set<string>): ImageDataset & { paths: string[] } {
  const keep = Array.from({ length: data.size }, (_, i) => i).filter((i) => !have.has(canonicalPath(data.path(i))));
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
  const { retriever, name } = opened;
  const { index, extractor, pipeline } = retriever;
  try {
    const print = progressPrinter(values.json!);
    const started = Date.now();
    const meta = await readMetadata(index);
    const have = new Set(
      [...meta.values()]
        .map((m) => m?.path)
        .filter((p): p is string => p !== undefined)
        .map(canonicalPath),
    );
    // Ids are never given twice: past every id the index holds or ever held (its saved nextId).
    let next = index.nextId ?? 0;
    for (const id of meta.keys()) if (id >= next) next = id + 1;
    let matrix: Matrix;
    let fresh: ImageDataset & { paths: string[] };
    let skipped: readonly string[];
    let dispose = () => {};
    if (extractor) {
      if (values.model && extractor.kind !== 'tfjs-model')
        throw new CbirError(
          'INVALID_ARGUMENT',
          `${name} holds ${extractor.kind} features, which cbir extracts itself: drop --model.`,
        );
      if (!values.model && extractor.kind === 'tfjs-model')
        throw new CbirError(
          'INVALID_ARGUMENT',
          `${name} holds features of a tfjs model: pass it with --model DIR|model.json|URL.`,
        );
      if (values.model) await initNodeBackend();
      const model = values.model
        ? await loadTfjsModel(/^https?:/.test(values.model) ? values.model : resolve(values.model))
        : undefined;
      const cv = extractor.kind === 'bow' ? await loadOpenCv() : undefined;
      const fx = await createExtractor(extractor, { model, cv });
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
    } else if (pipeline) {
      if (!values.model)
        throw new CbirError(
          'INVALID_ARGUMENT',
          `${name} holds autoencoder features: pass the model that embedded them with --model DIR|FILE.pt.`,
        );
      await initNodeBackend();
      const { model } = await loadModelArg(resolve(values.model), { arch: values.arch, size: values.size });
      dispose = () => model.dispose();
      const why = pipelineMismatch(pipeline, {
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
          : await embedImages(model, fresh, { reducer: pipeline.reducer, onProgress: print });
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
      const info = await readImageInfos(fresh.paths, { onProgress: print });
      const metadata = fresh.paths.map((path, i) => ({ ...info[i], path, label: fresh.entry(i).label }));
      const ctrlC = abortOnCtrlC('chunk');
      try {
        const { droppedReranker } = await retriever.add(matrix, ids, metadata, {
          signal: ctrlC.signal,
          onProgress: print,
        });
        if (droppedReranker)
          process.stderr.write(
            `cbir add: the ${droppedReranker} re-ranker saved with ${name} was dropped (its graph no longer covers the index); build it again with cbir index --rerank.\n`,
          );
      } finally {
        ctrlC.dispose();
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
