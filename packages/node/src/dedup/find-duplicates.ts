import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  CbirError,
  chooseKeeper,
  duplicateGroups,
  HASH_METHODS,
  hashDuplicates,
  imageHash,
  KEEPER_RULE,
  localFeatureDuplicates,
  mapImages,
  orbFeatures,
  parseHashEncodings,
  type DuplicateReport,
  type HashEncoding,
  type HashEncodings,
  type HashMethod,
  type ImageDataset,
  type LongRunning,
  type ProgressEvent,
  type FeatureFile,
  type ScoredDuplicate,
  CosineIndex,
  vectorDuplicates,
} from 'cbir-core';
import { HnswIndex } from '../indexes/hnsw-index.js';
import { loadFeatures } from '../io/feature-files.js';
import { directoryDataset, type DirectoryDataset } from '../dataset/directory-dataset.js';
import { loadOpenCv } from '../features/load-opencv.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { fileFacts } from './file-facts.js';

/**
 * How {@link findDuplicates} compares images: ORB keypoints (the default), one of imagededup's hashes, or the feature
 * vectors of any cbir extractor (`vector`, with `features`).
 */
export const DUPLICATE_METHODS = ['orb', ...HASH_METHODS, 'vector'] as const;
/** One of {@link DUPLICATE_METHODS}. */
export type DuplicateMethod = (typeof DUPLICATE_METHODS)[number];

/** The default cosine distance of `vector`: see {@link DEFAULT_DUPLICATE_THRESHOLD}. */
const VECTOR_THRESHOLD = 0.03;

/**
 * The default thresholds, chosen on bench:dedup's transformed set (docs/guides/duplicates.md): 20 keypoints agreeing
 * (precision 0.99 there), imagededup's 10 bits for the hashes, and a cosine distance of 0.03 for vectors (precision 0.99 there with
 * colour-grid features, which find resized copies but few others: see the guide).
 */
export const DEFAULT_DUPLICATE_THRESHOLD = { orb: 20, hash: 10, vector: VECTOR_THRESHOLD } as const;

/** Above this many vectors, `vector` searches an HNSW graph instead of scanning every vector. */
const EXACT_UP_TO = 50_000;

/** Options of {@link findDuplicates}. */
export interface FindDuplicatesOptions extends LongRunning {
  /** How images are compared: ORB keypoints (robust to flips, rotations and crops) or a hash. @defaultValue 'orb' */
  method?: DuplicateMethod;
  /**
   * orb: at least this many keypoints agreeing on one rotation, scale and shift; hashes: at most this many of 64 bits
   * apart; vector: at most this cosine distance (`1 - cos`) apart. @defaultValue {@link DEFAULT_DUPLICATE_THRESHOLD}
   */
  threshold?: number;
  /**
   * `vector` only: the images' features (a feature file from `cbir features` or `cbir embed`, or one loaded), one row
   * per file of the folder, ids relative to it. Up to 50,000 rows are compared exactly (`CosineIndex`), more through
   * an HNSW graph. Required with `vector`, absent otherwise.
   */
  features?: string | FeatureFile;
  /**
   * Hashes only: a JSON file keeping each file's hash with its size and modification time. Files unchanged since are
   * not read again; the rest are hashed and the file saved (atomically) every 500 images, so that a run cut short
   * resumes where it stopped. Files gone from the folder leave it. Without it every image is read.
   */
  encodings?: string;
}

/** What {@link findDuplicates} found. */
export interface FoundDuplicates {
  /** The folder, as an absolute path. */
  root: string;
  method: DuplicateMethod;
  threshold: number;
  /** The images compared, relative to `root` with `/` separators (unreadable ones left out). */
  files: string[];
  /** The duplicate pairs among `files`, with keypoints agreeing (orb), bits apart (hashes) or cosine distance (vector) as `score`. */
  pairs: ScoredDuplicate[];
  /** Files that could not be decoded, relative to `root`. */
  unreadable: string[];
  /** Hashes taken from `encodings` without reading the file. */
  reused: number;
}

/** Files hashed per checkpoint of `encodings`: an interrupted run keeps what it hashed up to the last one. */
const CHECKPOINT = 500;

/**
 * Finds the duplicates in a folder of images: the same photo re-saved, resized, recompressed, brightened, cropped,
 * rotated or flipped. With `method: 'orb'` (the default), ORB keypoints of each image and of its mirror image are
 * matched across the folder through hash tables and verified by a rotation, scale and shift
 * (`localFeatureDuplicates`; needs `@techstark/opencv-js`); with a hash, imagededup's bits and a BK-tree
 * (`hashDuplicates`), incrementally with `encodings`. Images are read as stored (no EXIF rotation, as imagededup).
 *
 * @param data - A folder, or a {@link DirectoryDataset} over one made with `{ size: 'original', orient: false }`.
 * @throws {@link cbir-core!CbirError | CbirError} INVALID_ARGUMENT for a bad method or threshold, FORMAT for an
 *   encodings file that is not one (or holds another method's hashes); `AbortedError` at `signal`.
 * @example
 * ```ts
 * const found = await findDuplicates('photos', { method: 'phash', encodings: 'photos.phash.json' });
 * const report = await duplicateReport(found);
 * for (const g of report.groups) console.log('keep', g.members[0].file, 'move', g.members.slice(1).map((m) => m.file));
 * ```
 */
export async function findDuplicates(
  data: string | DirectoryDataset,
  options: FindDuplicatesOptions = {},
): Promise<FoundDuplicates> {
  const method = options.method ?? 'orb';
  if (!DUPLICATE_METHODS.includes(method))
    throw new CbirError(
      'INVALID_ARGUMENT',
      `findDuplicates: method must be one of ${DUPLICATE_METHODS.join(', ')}, got "${method}".`,
    );
  if (method === 'vector' || options.features !== undefined) return vectorMode(data, method, options);
  const hash = method !== 'orb';
  const threshold = options.threshold ?? DEFAULT_DUPLICATE_THRESHOLD[hash ? 'hash' : 'orb'];
  if (hash && !(Number.isInteger(threshold) && threshold >= 0 && threshold <= 64))
    throw new CbirError(
      'INVALID_ARGUMENT',
      `findDuplicates: the threshold of a hash is a whole number of bits from 0 to 64, got ${threshold}.`,
    );
  if (!hash && !(Number.isInteger(threshold) && threshold >= 4))
    throw new CbirError(
      'INVALID_ARGUMENT',
      `findDuplicates: the threshold of orb is a whole number of keypoints, 4 or more, got ${threshold}.`,
    );
  if (options.encodings !== undefined && !hash)
    throw new CbirError(
      'INVALID_ARGUMENT',
      'findDuplicates: encodings keep hashes: use them with method phash, dhash, ahash or whash.',
    );
  const dataset = typeof data === 'string' ? await directoryDataset(data, { size: 'original', orient: false }) : data;
  const run = { signal: options.signal, onProgress: options.onProgress };
  if (hash) {
    const hashed = options.encodings
      ? await hashWithEncodings(dataset, method as HashMethod, options.encodings, run)
      : { ...(await mapImages(dataset, (image) => imageHash(image, method as HashMethod), run)), reused: 0 };
    const pairs = hashDuplicates(hashed.values, { maxDistance: threshold, ...run });
    return {
      root: resolve(dataset.root),
      method,
      threshold,
      files: hashed.ids,
      pairs: pairs.map(({ a, b, distance }) => ({ a, b, score: distance })),
      unreadable: hashed.skipped,
      reused: hashed.reused,
    };
  }
  const cv = await loadOpenCv();
  const features = await mapImages(
    dataset,
    (image) => ({ plain: orbFeatures(cv, image), mirrored: orbFeatures(cv, image, { mirror: true }) }),
    run,
  );
  const pairs = localFeatureDuplicates(features.values, { minInliers: threshold, ...run });
  return {
    root: resolve(dataset.root),
    method,
    threshold,
    files: features.ids,
    pairs: pairs.map(({ a, b, inliers }) => ({ a, b, score: inliers })),
    unreadable: features.skipped,
    reused: 0,
  };
}

/** `vector`: the features' rows in a cosine index, pairs within the threshold (`vectorDuplicates`). */
async function vectorMode(
  data: string | DirectoryDataset,
  method: DuplicateMethod,
  options: FindDuplicatesOptions,
): Promise<FoundDuplicates> {
  if (method !== 'vector' || options.features === undefined)
    throw new CbirError(
      'INVALID_ARGUMENT',
      method === 'vector'
        ? 'findDuplicates: method vector needs features (a feature file of the folder, from cbir features or cbir embed).'
        : `findDuplicates: features go with method vector, not ${method}.`,
    );
  const threshold = options.threshold ?? DEFAULT_DUPLICATE_THRESHOLD.vector;
  if (!(Number.isFinite(threshold) && threshold >= 0 && threshold <= 2))
    throw new CbirError(
      'INVALID_ARGUMENT',
      `findDuplicates: the threshold of vector is a cosine distance from 0 to 2, got ${threshold}.`,
    );
  const features = typeof options.features === 'string' ? await loadFeatures(options.features) : options.features;
  const { matrix, ids } = features;
  const index =
    matrix.rows > EXACT_UP_TO ? new HnswIndex(matrix.cols, { metric: 'cosine' }) : new CosineIndex(matrix.cols);
  index.add(matrix);
  const pairs = vectorDuplicates(index, {
    maxDistance: threshold,
    signal: options.signal,
    onProgress: options.onProgress,
  });
  const root = resolve(typeof data === 'string' ? data : data.root);
  return {
    root,
    method,
    threshold,
    files: ids,
    pairs: pairs.map(({ a, b, distance }) => ({ a, b, score: distance })),
    unreadable: [],
    reused: 0,
  };
}

/**
 * The groups of what {@link findDuplicates} found, each with the copy to keep first (`chooseKeeper`'s rule: most
 * pixels, then largest file, then most EXIF fields, then oldest) and what the rule read of every copy. Only the files
 * in a group are read (their headers and EXIF). Save it as JSON for `cbir serve --duplicates`.
 *
 * @throws {@link cbir-core!CbirError | CbirError} IMAGE_DECODE naming a file whose header cannot be read any more.
 * @example
 * ```ts
 * const report = await duplicateReport(await findDuplicates('photos'));
 * await writeFileAtomic('dups.json', Buffer.from(JSON.stringify(report)));
 * ```
 */
export async function duplicateReport(found: FoundDuplicates): Promise<DuplicateReport> {
  const groups = [];
  for (const group of duplicateGroups(found.files.length, found.pairs)) {
    const facts = await Promise.all(group.map((i) => fileFacts(join(found.root, found.files[i]))));
    const keep = chooseKeeper(facts);
    const order = [keep, ...group.keys()].filter((k, j) => j === 0 || k !== keep);
    groups.push({
      members: order.map((k) => ({
        file: found.files[group[k]],
        width: facts[k].width ?? 0,
        height: facts[k].height ?? 0,
        bytes: facts[k].bytes,
        exifFields: facts[k].exifFields,
        time: facts[k].time,
      })),
    });
  }
  return {
    format: 'cbir-duplicates',
    version: 1,
    root: found.root,
    method: found.method,
    threshold: found.threshold,
    rule: KEEPER_RULE,
    images: found.files.length,
    groups,
  };
}

/**
 * The folder's hashes, reusing those saved in `file` for files of the same size and modification time, hashing the
 * rest in chunks and saving after each (atomically).
 */
async function hashWithEncodings(
  data: DirectoryDataset,
  method: HashMethod,
  file: string,
  options: LongRunning,
): Promise<{ ids: string[]; values: string[]; skipped: string[]; reused: number }> {
  const known = await stat(file).catch(() => undefined);
  if (known && known.size > 2 ** 31)
    throw new CbirError('FORMAT', `encodings ${file} is ${known.size} bytes: too large to be cbir hash encodings.`);
  const saved: HashEncodings = known ? parseHashEncodings(await readFile(file, 'utf8'), file) : { method, files: {} };
  if (saved.method !== method)
    throw new CbirError(
      'FORMAT',
      `encodings ${file} holds ${saved.method} hashes, not ${method}: use method ${saved.method}, or another file.`,
    );
  const stats = await Promise.all(Array.from({ length: data.size }, (_, i) => stat(data.path(i))));
  const next: Record<string, HashEncoding> = Object.create(null); // any file name a key, "__proto__" too
  const todo: number[] = [];
  for (let i = 0; i < data.size; i++) {
    const e = saved.files[data.entry(i).id];
    if (e && e.size === stats[i].size && e.mtimeMs === stats[i].mtimeMs) next[data.entry(i).id] = e;
    else todo.push(i);
  }
  const reused = data.size - todo.length;
  const skipped: string[] = [];
  const save = () => writeFileAtomic(file, Buffer.from(JSON.stringify({ method, files: next }) + '\n'));
  for (let c = 0; c < todo.length || c === 0; c += CHECKPOINT) {
    const part = todo.slice(c, c + CHECKPOINT);
    const sub: ImageDataset = {
      size: part.length,
      imageSize: undefined,
      entry: (j) => data.entry(part[j]),
      read: (j) => data.read(part[j]),
    };
    const hashed = await mapImages(sub, (image) => imageHash(image, method), {
      signal: options.signal,
      onProgress: (e: ProgressEvent) =>
        options.onProgress?.('done' in e ? { ...e, done: reused + c + e.done, total: data.size } : e),
    });
    skipped.push(...hashed.skipped);
    const at = new Map(part.map((i) => [data.entry(i).id, i]));
    hashed.ids.forEach((id, k) => {
      const s = stats[at.get(id)!];
      next[id] = { hash: hashed.values[k], size: s.size, mtimeMs: s.mtimeMs };
    });
    await save();
  }
  const ids = Array.from({ length: data.size }, (_, i) => data.entry(i).id).filter((id) => id in next);
  return { ids, values: ids.map((id) => next[id].hash), skipped, reused };
}
