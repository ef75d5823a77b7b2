import { throwIfAborted } from '../errors.js';
import type { Matrix } from '../matrix.js';
import type { LongRunning } from '../progress.js';
import type { AsyncIndex, Index, IndexRows, ItemMetadata } from './index.js';

// What callers do with any index, whatever its kind: they ask the contract's optional members (a kind's
// capabilities) instead of testing classes, so a kind registered outside cbir gets the same treatment.

/**
 * Whether `index` lives in this process's memory (an {@link Index}: synchronous, serializable), as re-rankers and
 * `evaluateRetrieval` need, rather than in an engine (an {@link AsyncIndex} such as LanceDB's).
 *
 * @example
 * ```ts
 * const reranker = isInMemory(index) ? buildReranker(index, 'diffusion') : undefined;
 * ```
 */
export function isInMemory(index: Index | AsyncIndex): index is Index {
  return typeof (index as Partial<Index>).serialize === 'function';
}

/**
 * Adds `vectors` to any index: in chunks with progress and cancellation where the kind can (`addAsync`: an HNSW
 * graph build), in one call otherwise.
 *
 * @example
 * ```ts
 * await addVectors(index, features.matrix, ids, metadata, { signal, onProgress: (e) => console.log(e) });
 * ```
 */
export async function addVectors(
  index: Index | AsyncIndex,
  vectors: Matrix,
  ids?: ArrayLike<number>,
  metadata?: readonly (ItemMetadata | undefined)[],
  options: LongRunning = {},
): Promise<void> {
  const chunked = (index as Partial<Index>).addAsync;
  if (chunked) return chunked.call(index, vectors, ids, metadata, options);
  throwIfAborted(options.signal, 'addVectors');
  await index.add(vectors, ids, metadata);
}

/**
 * Every row of any index (ids, vectors, metadata) in its storage order: in one scan where the kind can (`allRows`:
 * LanceDB's), item by item otherwise.
 *
 * @example
 * ```ts
 * const { ids, vectors, metadata } = await readRows(index);
 * ```
 */
export async function readRows(index: Index | AsyncIndex): Promise<IndexRows> {
  const scan = (index as Partial<AsyncIndex>).allRows;
  if (scan) return scan.call(index);
  const ids = await index.idList();
  const data = new Float32Array(ids.length * index.dim);
  const metadata: (ItemMetadata | undefined)[] = [];
  for (const [i, id] of ids.entries()) {
    data.set((await index.vector(id))!, i * index.dim);
    metadata.push(await index.metadata(id));
  }
  return { ids, vectors: { data, rows: ids.length, cols: index.dim }, metadata };
}

/**
 * Every id's metadata, of any index: in one scan where the kind can (`allMetadata`), item by item otherwise.
 *
 * @example
 * ```ts
 * const paths = new Set([...(await readMetadata(index)).values()].map((m) => m?.path));
 * ```
 */
export async function readMetadata(index: Index | AsyncIndex): Promise<Map<number, ItemMetadata | undefined>> {
  const scan = (index as Partial<AsyncIndex>).allMetadata;
  if (scan) return scan.call(index);
  const out = new Map<number, ItemMetadata | undefined>();
  for (const id of await index.idList()) out.set(id, await index.metadata(id));
  return out;
}
