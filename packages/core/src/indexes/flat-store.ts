import { CbirError } from '../errors.js';
import { framedParts, writeFramed } from '../io/framed-file.js';
import type { Matrix } from '../matrix.js';
import { SimdKernels, type SimdBuffer } from '../compute/wasm-simd/simd-kernels.js';
import type { Index, ItemMetadata, OwnerSections } from './index.js';
import { checkItemMetadata } from './item-metadata.js';

/**
 * Row storage shared by the indexes: a growable row-major float32 buffer, ids, row lookup, and metadata.
 *
 * Where WebAssembly SIMD runs, the rows live in the memory of the store's own {@link SimdKernels} (at its start, so
 * growing keeps them in place), and the scans run on them there with no copy; otherwise in a plain `Float32Array`.
 */
export class FlatStore {
  ids: number[] = [];
  private readonly rowOf = new Map<number, number>();
  private readonly meta = new Map<number, ItemMetadata>();
  private plain?: Float32Array;
  private wasm?: { kernels: SimdKernels; rows: SimdBuffer; view: Float32Array };
  /** One past the largest id ever appended; removing ids never lowers it (ids are not given twice). */
  nextFree = 0;
  /** Bumped by every change of the rows: data derived from them (see {@link FlatStore.sidecar}) is stale when it differs. */
  version = 0;

  constructor(readonly dim: number) {
    const kernels = SimdKernels.create();
    if (kernels) this.wasm = this.place(kernels, dim * 16);
    else this.plain = new Float32Array(dim * 16);
  }

  /** The row buffer (capacity >= size * dim). Read it again after `append`: growing replaces it. */
  get data(): Float32Array {
    const w = this.wasm;
    if (!w) return this.plain!;
    // A grown wasm memory detaches the views on its old buffer.
    if (w.view.length !== w.rows.length) w.view = w.kernels.f32(w.rows);
    return w.view;
  }

  /**
   * The SIMD kernels and the rows' place in their memory, or undefined where WebAssembly SIMD is unavailable. Scratch
   * allocated by callers is taken inside `withScratch(kernels, fn)`, which releases it.
   */
  get simd(): { kernels: SimdKernels; rows: SimdBuffer } | undefined {
    return this.wasm;
  }

  /**
   * A buffer of `length` floats kept in the kernels' memory beside the rows (after them, below the scratch), for data
   * derived from the rows. Its memory is reused when the rows change: rebuild it whenever {@link FlatStore.version}
   * moved. Undefined without SIMD or when rows and buffer would not fit in wasm32's 4 GiB.
   */
  sidecar(length: number): SimdBuffer | undefined {
    const w = this.wasm;
    if (!w || !SimdKernels.fits((w.rows.length + length) * 4 + 64)) return undefined;
    const rows = w.rows;
    w.kernels.reset();
    w.kernels.alloc(rows.length, 4); // the same place: the rows stay where they are
    const side = w.kernels.alloc(length, 4);
    w.kernels.mark();
    return side;
  }

  private place(kernels: SimdKernels, capacity: number) {
    kernels.reset();
    const rows = kernels.alloc(capacity, 4);
    kernels.mark();
    return { kernels, rows, view: kernels.f32(rows) };
  }

  /** The number of vectors stored. */
  get size(): number {
    return this.ids.length;
  }

  has(id: number): boolean {
    return this.rowOf.has(id);
  }

  row(id: number): number | undefined {
    // Ids numbered 0, 1, ... in the order added (the usual case) sit at their own row: no map lookup (a tenth of an
    // HNSW search's re-ranking time went to the lookups).
    if (this.ids[id] === id) return id;
    return this.rowOf.get(id);
  }

  /** Appends rows (already validated); returns the first new row. */
  append(vectors: Matrix, ids: number[], metadata?: readonly (ItemMetadata | undefined)[]): number {
    // Checked before anything changes: a bad field (a date that is no instant) leaves the store as it was.
    const checked = metadata?.map((m, i) => checkItemMetadata(m, `add: metadata[${i}]`));
    this.version++;
    const first = this.size;
    const need = (first + vectors.rows) * this.dim;
    const capacity = this.data.length;
    if (need > capacity) {
      const grown = Math.max(need, capacity * 2);
      if (this.wasm && SimdKernels.fits(grown * 4))
        this.wasm = this.place(this.wasm.kernels, grown); // rows stay at the start
      else {
        const plain = new Float32Array(grown);
        plain.set(this.data.subarray(0, first * this.dim));
        this.plain = plain;
        this.wasm = undefined; // past wasm32's 4 GiB: plain JS from now on
      }
    }
    this.data.set(vectors.data, first * this.dim);
    ids.forEach((id, i) => {
      if (id >= this.nextFree) this.nextFree = id + 1;
      this.ids.push(id);
      this.rowOf.set(id, first + i);
      const m = checked?.[i];
      if (m) this.meta.set(id, m);
    });
    return first;
  }

  /** Removes ids by moving the last row into each hole; `onMove(from, to)` lets an index fix its own per-row data. */
  remove(
    ids: ArrayLike<number>,
    onMove?: (from: number, to: number) => void,
    onRemove?: (id: number, row: number) => void,
  ): number {
    this.version++;
    let removed = 0;
    for (const id of Array.from(ids)) {
      const row = this.rowOf.get(id);
      if (row === undefined) continue;
      onRemove?.(id, row);
      const last = this.size - 1;
      if (row !== last) {
        this.data.copyWithin(row * this.dim, last * this.dim, (last + 1) * this.dim);
        const moved = this.ids[last];
        this.ids[row] = moved;
        this.rowOf.set(moved, row);
        onMove?.(last, row);
      }
      this.ids.pop();
      this.rowOf.delete(id);
      this.meta.delete(id);
      removed++;
    }
    return removed;
  }

  vector(id: number): Float32Array | undefined {
    const r = this.rowOf.get(id);
    return r === undefined ? undefined : this.data.slice(r * this.dim, (r + 1) * this.dim);
  }

  metadata(id: number): ItemMetadata | undefined {
    return this.meta.get(id);
  }

  /** Metadata in row order, for serialisation. */
  metadataList(): (ItemMetadata | null)[] {
    return this.ids.map((id) => this.meta.get(id) ?? null);
  }

  vectors(): Float32Array {
    return this.data.subarray(0, this.size * this.dim);
  }

  /** Forgets every row (the buffer is kept for the rows that come next). */
  clear(): void {
    this.version++;
    this.ids = [];
    this.rowOf.clear();
    this.meta.clear();
  }
}

/**
 * Writes an index file (`CBIRINDX` version 1): the kind's `header` and `arrays`, the index's `nextId`, then what its
 * owner keeps in the file (`owner`, opaque here; see {@link OwnerSections}). For kinds registered outside cbir-core;
 * read back by `deserializeIndex` through the kind's `restore`.
 *
 * @example
 * ```ts
 * serialize(owner?: OwnerSections) {
 *   const header = { kind: this.kind, metric: this.metric, dim: this.dim, size: this.size, ids, metadata };
 *   return writeIndexFile(header, [rows, myGraph], this, owner);
 * }
 * ```
 */
export function writeIndexFile(
  header: Record<string, unknown>,
  arrays: readonly Float32Array[],
  index: Pick<Index, 'nextId'>,
  owner?: OwnerSections,
): Uint8Array {
  return writeFramed(...indexFileArgs(header, arrays, index, owner));
}

/**
 * {@link writeIndexFile}'s bytes as chunks (views of the arrays, no copy of the whole file), for writers that stream
 * a large index to disk (`saveIndex`).
 *
 * @example
 * ```ts
 * serializeParts(owner?: OwnerSections) {
 *   return indexFileParts(header, [rows, graph], this, owner);   // concatenated, they are serialize()'s bytes
 * }
 * ```
 */
export function indexFileParts(
  header: Record<string, unknown>,
  arrays: readonly Float32Array[],
  index: Pick<Index, 'nextId'>,
  owner?: OwnerSections,
): Uint8Array[] {
  return framedParts(...indexFileArgs(header, arrays, index, owner));
}

function indexFileArgs(
  header: Record<string, unknown>,
  arrays: readonly Float32Array[],
  index: Pick<Index, 'nextId'>,
  owner: OwnerSections = { header: {}, arrays: [] },
): [string, number, unknown, Float32Array[]] {
  const clash = Object.keys(owner.header).find((key) => key in header || key === 'nextId');
  if (clash !== undefined)
    throw new CbirError('INVALID_ARGUMENT', `writeIndexFile: the owner's key "${clash}" is one of the index's own.`);
  const next = index.nextId !== undefined ? { nextId: index.nextId } : {};
  return ['CBIRINDX', 1, { ...header, ...next, ...owner.header }, [...arrays, ...owner.arrays]];
}

/** What every index that keeps its rows in a {@link FlatStore} answers the same way. */
export abstract class StoredIndex {
  protected readonly store: FlatStore;
  protected constructor(dim: number) {
    this.store = new FlatStore(dim);
  }

  /** The number of vectors in the index. */
  get size(): number {
    return this.store.size;
  }

  /** Stored kinds learn nothing before `add`. */
  get isTrained(): boolean {
    return true;
  }

  /** Changes with every add, remove and reset (see {@link Index.version}). */
  get version(): number {
    return this.store.version;
  }

  /** Removes every vector, keeping the configuration. */
  reset(): void {
    this.store.clear();
  }

  metadata(id: number): ItemMetadata | undefined {
    return this.store.metadata(id);
  }

  vector(id: number): Float32Array | undefined {
    return this.store.vector(id);
  }

  idList(): number[] {
    return [...this.store.ids];
  }

  /** The index file of this index (see {@link writeIndexFile}). */
  protected framed(
    header: Record<string, unknown>,
    arrays: readonly Float32Array[],
    owner: OwnerSections | undefined,
  ): Uint8Array {
    return writeIndexFile(header, arrays, this, owner);
  }

  /** One past the largest id ever held (see {@link Index.nextId}); it only grows. */
  get nextId(): number {
    return this.store.nextFree;
  }
  set nextId(next: number) {
    if (!Number.isSafeInteger(next) || next < 0)
      throw new CbirError('INVALID_ARGUMENT', `nextId must be a non-negative integer, got ${next}.`);
    if (next > this.store.nextFree) this.store.nextFree = next;
  }

  /**
   * Sets `nextId` back to what it was before an add that was taken back whole (stopped, its rows removed again), so
   * the call leaves no trace. Never below one past the largest id held. @internal
   */
  rewindNextId(before: number): void {
    this.store.nextFree = this.store.ids.reduce((a, id) => Math.max(a, id + 1), before);
  }
}
