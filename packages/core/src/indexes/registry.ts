import { CbirError } from '../errors.js';
import { CosineIndex } from './cosine-index.js';
import { ExactEuclideanIndex } from './exact-euclidean-index.js';
import type { Index, ItemMetadata } from './index.js';
import { LSHIndex, type LSHDistance, type LSHIndexOptions } from './lsh-index.js';

/** What a kind of index can do: the contract suite and the CLI read these instead of testing class names. */
export interface IndexCapabilities {
  /** Results always equal a brute-force float64 oracle's (else the kind is held to a recall floor). */
  exact: boolean;
  /** `remove` drops ids. */
  removable: boolean;
  /** `serialize` writes the whole index to one file (else it lives in an engine's own storage, such as LanceDB). */
  persistent: boolean;
  /** The kind must `train` before `add`. */
  needsTraining: boolean;
}

/**
 * An index file as a kind's `restore` reads it: the JSON header, and its arrays taken in the order `serialize` wrote
 * them (the kind's own arrays, then the rows). The common fields are checked before `restore` runs.
 */
export interface IndexFileReader {
  header: Record<string, unknown> & { kind: string; dim: number; size: number; ids: number[] };
  /** The metadata in row order. */
  metadata: (ItemMetadata | undefined)[];
  /** Takes the next `n` floats of the body. */
  take(n: number): Float32Array;
  /** Throws an `IndexFormatError` naming the file: `what` is wrong with it. */
  fail(what: string): never;
}

/** How one kind of index is made and read back. */
export interface IndexKind<O = Record<string, unknown>> {
  /** The name in index files, `createIndex` and `cbir index --type`. */
  readonly kind: string;
  /** One line for help texts. */
  readonly summary: string;
  readonly capabilities: IndexCapabilities;
  /** A new, empty index of dimension `dim`. */
  create(dim: number, options?: O): Index;
  /** Reads the kind's part of an index file (see {@link IndexFileReader}); the file's rows included. */
  restore(file: IndexFileReader, source: string): Index;
}

const kinds = new Map<string, IndexKind<never>>();

/**
 * Registers a kind of index, so that {@link createIndex}, {@link deserializeIndex} and the CLI know it. cbir-node
 * registers `hnsw` (usearch) this way; a kind registered twice replaces the first.
 *
 * @example
 * ```ts
 * registerIndexKind({
 *   kind: 'my-flat', summary: 'a flat index', capabilities: { exact: true, removable: true, persistent: true, needsTraining: false },
 *   create: (dim) => new MyFlatIndex(dim),
 *   restore: (file) => MyFlatIndex.read(file),
 * });
 * const index = createIndex('my-flat', 128);
 * ```
 */
export function registerIndexKind<O>(spec: IndexKind<O>): void {
  if (!/^[a-z][a-z0-9-]*$/.test(spec.kind))
    throw new CbirError(
      'INVALID_ARGUMENT',
      `registerIndexKind: kind "${spec.kind}" must be lower-case letters, digits and dashes.`,
    );
  kinds.set(spec.kind, spec as unknown as IndexKind<never>);
}

/**
 * The registered kind `kind`.
 * @throws {@link CbirError} `INVALID_ARGUMENT` naming the registered kinds when there is none of that name.
 *
 * @example
 * ```ts
 * indexKind('lsh').capabilities.exact;   // false
 * ```
 */
export function indexKind(kind: string): IndexKind {
  const spec = kinds.get(kind);
  if (!spec) {
    const hint =
      kind === 'hnsw' ? ' The hnsw kind lives in cbir-node: import it (import "cbir-node") before using it.' : '';
    throw new CbirError('INVALID_ARGUMENT', `no index kind "${kind}"; registered: ${indexKinds().join(', ')}.${hint}`);
  }
  return spec as unknown as IndexKind;
}

/**
 * The names of the registered kinds, in registration order.
 *
 * @example
 * ```ts
 * indexKinds();   // ['exact', 'cosine', 'lsh'] in cbir-core; cbir-node adds 'hnsw'
 * ```
 */
export function indexKinds(): string[] {
  return [...kinds.keys()];
}

/**
 * A new, empty index of a registered kind.
 *
 * @param options the kind's options (for `lsh`, {@link LSHIndexOptions} without `inputDim`).
 * @example
 * ```ts
 * const index = createIndex('cosine', 256);
 * const lsh = createIndex('lsh', 256, { hashSize: 16, numHashtables: 8, distanceFunc: 'hamming' });
 * index.add(features);
 * ```
 */
export function createIndex(kind: string, dim: number, options: Record<string, unknown> = {}): Index {
  if (!Number.isInteger(dim) || dim < 1)
    throw new CbirError('INVALID_ARGUMENT', `createIndex: dim must be a positive integer, got ${dim}.`);
  return indexKind(kind).create(dim, options);
}

/** Restores the rows of a flat index as they were stored. */
function restoreRows(index: ExactEuclideanIndex, file: IndexFileReader): ExactEuclideanIndex {
  const { dim, size, ids } = file.header;
  const data = file.take(size * dim);
  if (size > 0) index.restore({ data, rows: size, cols: dim }, ids, file.metadata);
  return index;
}

/**
 * The `lsh` kind's defaults in {@link createIndex}: 16 bits x 16 tables, buckets within Hamming radius 1, centred,
 * completed exactly when fewer than k collide. `new LSHIndex` keeps lshashpy3's own defaults instead.
 */
export const LSH_DEFAULTS = {
  hashSize: 16,
  numHashtables: 16,
  distanceFunc: 'hamming',
  centre: true,
  fillToK: true,
} as const;

const flat: IndexCapabilities = { exact: true, removable: true, persistent: true, needsTraining: false };

registerIndexKind({
  kind: 'exact',
  summary: 'exact Euclidean search (float64-checked)',
  capabilities: flat,
  create: (dim) => new ExactEuclideanIndex(dim),
  restore: (file) => restoreRows(new ExactEuclideanIndex(file.header.dim), file),
});

registerIndexKind({
  kind: 'cosine',
  summary: 'exact cosine distance (1 - cos)',
  capabilities: flat,
  create: (dim) => new CosineIndex(dim),
  restore: (file) => restoreRows(new CosineIndex(file.header.dim), file),
});

registerIndexKind<Omit<LSHIndexOptions, 'inputDim'>>({
  kind: 'lsh',
  summary: "lshashpy3's locality-sensitive hashing (approximate)",
  capabilities: { exact: false, removable: true, persistent: true, needsTraining: false },
  // cbir's defaults, not lshashpy3's (new LSHIndex keeps those): recall@10 0.97 to 1.0 on clustered data at 10^4.
  create: (dim, options) => new LSHIndex({ ...LSH_DEFAULTS, ...options, inputDim: dim }),
  restore: (file) => {
    const h = file.header as IndexFileReader['header'] & {
      hashSize?: number;
      numHashtables?: number;
      distanceFunc?: LSHDistance;
      probeRadius?: number;
      fillToK?: boolean;
      seed?: number;
      centre?: boolean;
      hasCentre?: boolean;
    };
    const count = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 1;
    if (!count(h.hashSize) || !count(h.numHashtables))
      file.fail(
        `has hashSize ${String(h.hashSize)} and numHashtables ${String(h.numHashtables)}; expected positive integers`,
      );
    const planes = Array.from({ length: h.numHashtables! }, () => file.take(h.hashSize! * h.dim));
    const index = new LSHIndex({
      hashSize: h.hashSize!,
      numHashtables: h.numHashtables,
      inputDim: h.dim,
      seed: h.seed,
      distanceFunc: h.distanceFunc,
      probeRadius: h.probeRadius,
      fillToK: h.fillToK,
      centre: h.centre,
      planes,
    });
    if (h.hasCentre) index.setCentre(file.take(h.dim));
    const data = file.take(h.size * h.dim);
    if (h.size > 0) index.add({ data, rows: h.size, cols: h.dim }, h.ids, file.metadata);
    return index;
  },
});
