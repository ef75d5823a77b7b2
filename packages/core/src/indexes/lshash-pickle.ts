import { IndexFormatError } from '../errors.js';
import type { NpyArray } from '../io/npy.js';
import { PyObject, unpickleNumpy } from '../io/numpy-pickle.js';
import type { ItemMetadata } from './index.js';
import { LSHIndex, type LSHDistance } from './lsh-index.js';

/** Options of {@link readLshashPickle}. */
export interface LshashPickleOptions {
  /**
   * How queries rank their candidates: the `distance_func` the pickled object would be queried with (the pickle does
   * not hold it). @defaultValue 'hamming' (the notebook's)
   */
  distanceFunc?: LSHDistance;
}

const LSHASH = 'lshashpy3.lshash.LSHash';
const MEMORY = 'lshashpy3.storage.InMemoryStorage';

/**
 * Opens what `pickle.dump(lsh, open('lsh.p', 'wb'))` writes for an `lshashpy3.LSHash` with in-memory storage (the
 * notebook's `lsh.p`) as an {@link LSHIndex} that answers queries as the pickled object does: its planes, and every
 * item in the buckets the pickle files it under, with the vector stored with it. An item's id is its `extra_data`
 * when that is an integer (the notebook indexes image i with `extra_data=i`); string `extra_data` (a file name, say)
 * becomes the item's `path`, with ids numbered in the order items first appear.
 *
 * Nothing in the pickle is executed: only `LSHash`, `InMemoryStorage` and numpy's array globals are rebuilt, as data.
 *
 * @param bytes - The pickle (protocols 2 to 5).
 * @param source - A name for it in error messages (its path, say).
 * @throws {@link IndexFormatError} when the pickle is not an in-memory `LSHash`, or its planes, buckets or items do
 *   not agree with its `hash_size`, `input_dim` and `num_hashtables`.
 *
 * @example
 * ```ts
 * const lsh = readLshashPickle(await readFile('lsh.p'), 'lsh.p');
 * lsh.search({ data: lsh.vector(5)!, rows: 1, cols: lsh.dim }, 11);   // lsh.query(feature_dict[5].flatten(), 11, 'hamming')
 * ```
 */
export function readLshashPickle(bytes: Uint8Array, source = 'lsh.p', options: LshashPickleOptions = {}): LSHIndex {
  const fail = (what: string): never => {
    throw new IndexFormatError(`readLshashPickle: ${source} ${what}`);
  };
  let root: unknown;
  try {
    root = unpickleNumpy(bytes, source, { classes: [LSHASH, MEMORY] });
  } catch (e) {
    throw new IndexFormatError(
      `${(e as Error).message} An lsh.p must be an lshashpy3 LSHash with in-memory storage (storage_config={'dict': None}).`,
      { cause: e },
    );
  }
  if (!(root instanceof PyObject) || root.className !== LSHASH) return fail('is not a pickled lshashpy3 LSHash.');
  const attr = (name: string) => root.state.get(name);
  const int = (name: string) => {
    const v = attr(name);
    if (!Number.isInteger(v) || (v as number) < 1) fail(`has ${name} = ${String(v)}; expected a positive integer.`);
    return v as number;
  };
  const hashSize = int('hash_size');
  const dim = int('input_dim');
  const tables = int('num_hashtables');
  if (hashSize > 30) fail(`has hash_size ${hashSize}; cbir's LSHIndex takes at most 30 bits.`);
  const planesList = attr('uniform_planes');
  if (!Array.isArray(planesList) || planesList.length !== tables)
    fail(`has ${Array.isArray(planesList) ? planesList.length : 'no'} plane sets for ${tables} tables.`);
  const planes = (planesList as NpyArray[]).map((p, t) => {
    if (!p || !Array.isArray(p.shape) || p.shape.join() !== `${hashSize},${dim}`)
      fail(`has planes of table ${t} shaped [${p?.shape?.join(', ')}]; expected [${hashSize}, ${dim}].`);
    return Float32Array.from(p.data);
  });
  const storages = attr('hash_tables');
  if (!Array.isArray(storages) || storages.length !== tables)
    fail(`has ${Array.isArray(storages) ? storages.length : 'no'} hash tables; expected ${tables}.`);

  // Every item, keyed by its extra_data: its vector and its key in each table.
  const items = new Map<number | string, { vector: Float32Array; keys: number[] }>();
  (storages as unknown[]).forEach((storage, t) => {
    const buckets =
      storage instanceof PyObject && storage.className === MEMORY ? storage.state.get('storage') : undefined;
    if (!(buckets instanceof Map)) return fail(`has hash table ${t} without an in-memory dict of buckets.`);
    for (const [key, entries] of buckets) {
      if (typeof key !== 'string' || key.length !== hashSize || /[^01]/.test(key))
        fail(`has a bucket key ${JSON.stringify(key)} in table ${t}; expected ${hashSize} bits as '0' and '1'.`);
      if (!Array.isArray(entries)) return fail(`has bucket ${key} of table ${t} that is not a list.`);
      for (const entry of entries) {
        // lshashpy3 stores (tuple(vector), extra_data), or the bare tuple when extra_data was not given.
        if (!Array.isArray(entry) || entry.length !== 2 || !Array.isArray(entry[0])) {
          return fail(
            `has an item in bucket ${key} of table ${t} without extra_data; cbir needs each item indexed with an extra_data (an id or a name).`,
          );
        }
        const [vector, extra] = entry as [unknown[], unknown];
        if (!(Number.isSafeInteger(extra) && (extra as number) >= 0) && typeof extra !== 'string') {
          fail(`has an item with extra_data ${JSON.stringify(extra)}; cbir reads non-negative integer ids or strings.`);
        }
        if (vector.length !== dim || vector.some((v) => typeof v !== 'number'))
          fail(`has an item (extra_data ${String(extra)}) whose vector is not ${dim} numbers.`);
        let item = items.get(extra as number | string);
        if (!item)
          items.set(
            extra as number | string,
            (item = { vector: Float32Array.from(vector as number[]), keys: new Array<number>(tables).fill(-1) }),
          );
        if (item.keys[t] !== -1)
          fail(`files extra_data ${String(extra)} twice in table ${t}; cbir needs each extra_data once per table.`);
        item.keys[t] = parseInt(key, 2);
      }
    }
  });
  for (const [extra, item] of items)
    if (item.keys.includes(-1)) fail(`files extra_data ${String(extra)} in some tables but not all.`);

  const entries = [...items];
  const numeric = entries.every(([e]) => typeof e === 'number');
  if (numeric) entries.sort((a, b) => (a[0] as number) - (b[0] as number));
  const index = new LSHIndex({
    hashSize,
    inputDim: dim,
    numHashtables: tables,
    planes,
    distanceFunc: options.distanceFunc ?? 'hamming',
  });
  if (entries.length === 0) return index;
  const data = new Float32Array(entries.length * dim);
  entries.forEach(([, item], i) => data.set(item.vector, i * dim));
  const ids = entries.map(([e], i) => (numeric ? (e as number) : i));
  const metadata: (ItemMetadata | undefined)[] = entries.map(([e]) => (numeric ? undefined : { path: e as string }));
  index.add({ data, rows: entries.length, cols: dim }, ids, metadata);
  // The buckets are the pickle's, whatever float32 rounding would make of a vector within rounding of a plane.
  entries.forEach(([, item], i) => index.setKeys(ids[i], item.keys));
  return index;
}
