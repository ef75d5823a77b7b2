import { FormatError } from '../errors.js';
import { readNpy, type NpyArray } from '../io/npy.js';
import { unpickleNumpy } from '../io/numpy-pickle.js';
import { deserializeFeatures, type FeatureFile } from './feature-file.js';

/** Options of {@link readFeatures}. */
export interface ReadFeaturesOptions {
  /**
   * Ids of the rows of a `.npy` matrix (a `.npy` of ids, read with `readNpy`, or any list), one per row.
   * @defaultValue the row numbers
   */
  ids?: ArrayLike<number | string>;
}

/**
 * Reads features from any of the files that hold them, told apart by their first bytes:
 * - a cbir feature file (`cbir embed`, `cbir features`, `cbir bow`), checked as {@link deserializeFeatures} checks it;
 * - the notebook's `features.pkl`, `pickle.dumps({'indexes': [...], 'features': ndarray})` (numpy 1 or 2, pickle
 *   protocols 2 to 5): row i is `features[i]` flattened (a `[n, 256, 16, 16]` latent becomes `[n, 65536]`) with id
 *   `indexes[i]`; a pickle of a bare array works too;
 * - a `.npy` matrix `[n, ...]` (float32, float64 or integers), each row flattened, ids from `options.ids`.
 *
 * Values are stored as float32, as cbir's indexes and clusterers take them; a value that float32 cannot hold (beyond
 * 3.4e38, or NaN) is an error, not a silent infinity.
 *
 * @param bytes - The file's bytes.
 * @param source - A name for it in error messages (its path, say).
 * @throws {@link FormatError} for an unknown format, a pickle without `features`, ids that do not match the rows, or a
 *   non-finite value.
 *
 * @example
 * ```ts
 * const f = readFeatures(await readFile('features.pkl'), 'features.pkl');   // the notebook's file
 * f.matrix.rows;   // 4738
 * new KMeans({ nClusters: 6, randomState: 0 }).fit(f.matrix);
 * ```
 */
export function readFeatures(bytes: Uint8Array, source = 'features', options: ReadFeaturesOptions = {}): FeatureFile {
  const magic = new TextDecoder().decode(bytes.subarray(0, 8));
  if (magic === 'CBIRFEAT') {
    if (options.ids)
      throw new FormatError(
        `readFeatures: ${source} is a cbir feature file, which holds its own ids; ids apply to a .npy matrix.`,
      );
    return deserializeFeatures(bytes, source);
  }
  let array: NpyArray;
  let ids: ArrayLike<number | string> | undefined = options.ids;
  let format: string;
  if (bytes[0] === 0x93 && magic.slice(1, 6) === 'NUMPY') {
    array = readNpy(bytes, source);
    format = 'npy';
  } else if (bytes[0] === 0x80 && bytes[1] >= 2 && bytes[1] <= 5) {
    const root = unpickleNumpy(bytes, source);
    format = 'pickle';
    if (root instanceof Map) {
      const features = root.get('features');
      if (!isArray(features))
        throw new FormatError(
          `readFeatures: ${source} is a pickled dict without a numpy array under 'features'; expected the notebook's {'indexes': [...], 'features': ndarray}.`,
        );
      array = features;
      const indexes = root.get('indexes');
      if (indexes !== undefined) {
        if (ids)
          throw new FormatError(`readFeatures: ${source} holds its own ids ('indexes'); ids apply to a .npy matrix.`);
        if (isArray(indexes)) ids = indexes.data;
        else if (Array.isArray(indexes) && indexes.every((i) => typeof i === 'number' || typeof i === 'string'))
          ids = indexes as (number | string)[];
        else throw new FormatError(`readFeatures: ${source} has 'indexes' that are not a list of numbers or strings.`);
      }
    } else if (isArray(root)) array = root;
    else
      throw new FormatError(`readFeatures: ${source} is a pickle of neither a dict with 'features' nor a numpy array.`);
  } else {
    throw new FormatError(
      `readFeatures: ${source} is not a feature file: expected a cbir feature file (cbir embed), the notebook's features.pkl, or a .npy matrix.`,
    );
  }
  if (array.shape.length < 1)
    throw new FormatError(`readFeatures: ${source} holds a scalar; expected an array [n, ...] of n feature vectors.`);
  const rows = array.shape[0];
  const cols = array.shape.slice(1).reduce((a, b) => a * b, 1);
  if (ids !== undefined && ids.length !== rows)
    throw new FormatError(`readFeatures: ${source} has ${rows} rows but ${ids.length} ids.`);
  // A pickle keeps no checksum: what can be checked is checked (float values, one id per row, each once, whole
  // numbers); a changed value that stays finite reads as another value (docs/guides/notebook-parity.md).
  if (format === 'pickle' && !/^[<>|=]?f[248]$/.test(array.dtype))
    throw new FormatError(`readFeatures: ${source} holds features of dtype ${array.dtype}; the notebook's are floats.`);
  if (ids !== undefined) {
    const seen = new Set<number | string>();
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (typeof id === 'number' && !(Number.isSafeInteger(id) && id >= 0))
        throw new FormatError(`readFeatures: ${source} has id ${id} at row ${i}; ids must be non-negative integers.`);
      if (seen.has(id))
        throw new FormatError(`readFeatures: ${source} has id ${id} twice (row ${i}); ids must be unique.`);
      seen.add(id);
    }
  }
  const data = Float32Array.from(array.data);
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw new FormatError(
        `readFeatures: ${source} has ${array.data[i]} at row ${Math.floor(i / cols)}, column ${i % cols}${Number.isFinite(array.data[i]) ? ' (beyond float32)' : ''}; features must be finite.`,
      );
    }
  }
  const idList = ids === undefined ? Array.from({ length: rows }, (_, i) => String(i)) : Array.from(ids, String);
  return {
    matrix: { data, rows, cols },
    ids: idList,
    labels: new Array<string | undefined>(rows).fill(undefined),
    metadata: { format, shape: array.shape, dtype: array.dtype },
  };
}

function isArray(v: unknown): v is NpyArray {
  return typeof v === 'object' && v !== null && 'shape' in v && 'data' in v && ArrayBuffer.isView((v as NpyArray).data);
}
