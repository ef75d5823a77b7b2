import type { Retriever } from 'cbir-core';

/** One query's row of a search: `k` ids and distances, padded with -1 and Infinity as {@link Index.search} pads. */
export interface SearchRow {
  k: number;
  ids: Float64Array;
  distances: Float64Array;
}

interface Pending {
  vector: Float32Array;
  depth: number;
  self: number | undefined;
  resolve(row: SearchRow): void;
  reject(e: unknown): void;
}

/**
 * Coalesces the single-query searches of concurrent requests into batched `index.search` calls. A search is
 * synchronous for in-memory indexes, so requests that arrive while one runs wait in the socket; the next turn of the
 * event loop parses them all, and this runs them as one batch (flushed on `setImmediate`, after that turn's I/O).
 * An exact scan reads the whole matrix once per call, so a batch of 8 costs little more than one query; HNSW and
 * LanceDB search a batch on their own threads. Queries are grouped by depth; each gets exactly what a lone
 * `search(vector, depth)` returns. The batch goes through the retriever (with its re-ranker, as `cbir search` does),
 * each query's own id marked where it is an indexed item (and left out of its results).
 */
export class SearchBatcher {
  private pending: Pending[] = [];
  private scheduled = false;

  constructor(
    private readonly retriever: Retriever,
    readonly maxBatch = 64,
  ) {}

  /** The `depth` nearest items to `vector`; `self` is its id when it is an indexed item (for the re-ranker). */
  search(vector: Float32Array, depth: number, self?: number): Promise<SearchRow> {
    return new Promise((resolve, reject) => {
      this.pending.push({ vector, depth, self, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    const byDepth = new Map<number, Pending[]>();
    for (const p of batch) {
      const group = byDepth.get(p.depth);
      if (group) group.push(p);
      else byDepth.set(p.depth, [p]);
    }
    const dim = this.retriever.index.dim;
    for (const [depth, group] of byDepth) {
      for (let start = 0; start < group.length; start += this.maxBatch) {
        const chunk = group.slice(start, start + this.maxBatch);
        const data = new Float32Array(chunk.length * dim);
        chunk.forEach((p, i) => data.set(p.vector, i * dim));
        try {
          const queries = { data, rows: chunk.length, cols: dim };
          const res = await this.retriever.search(queries, depth, { self: chunk.map((p) => p.self) });
          chunk.forEach((p, i) =>
            p.resolve({
              k: res.k,
              ids: res.ids.subarray(i * res.k, (i + 1) * res.k),
              distances: res.distances.subarray(i * res.k, (i + 1) * res.k),
            }),
          );
        } catch (e) {
          for (const p of chunk) p.reject(e);
        }
      }
    }
  }
}
