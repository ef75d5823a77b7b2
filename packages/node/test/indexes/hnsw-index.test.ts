import { describe, expect, it } from 'vitest';
import { AbortedError, createIndex, deserializeIndex, ExactEuclideanIndex, indexKind, recallAtK } from 'cbir-core';
import { HnswIndex } from 'cbir-node';
import {
  clusteredMatrix,
  describeIndexContract,
  euclidean,
  randomMatrix,
} from '../../../core/test/indexes/index-contract.js';

const cosine = (a: Float32Array, b: Float32Array) => {
  let d = 0,
    na = 0,
    nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i] * b[i];
    na += a[i] ** 2;
    nb += b[i] ** 2;
  }
  return 1 - d / Math.sqrt(na * nb);
};
const flags = { exact: false, removable: true, persistent: true, recallFloor: 0.95 };

describeIndexContract('HnswIndex (registry defaults)', (dim) => createIndex('hnsw', dim), euclidean, flags);
describeIndexContract('HnswIndex (cosine)', (dim) => new HnswIndex(dim, { metric: 'cosine' }), cosine, flags);
describeIndexContract('HnswIndex (f32 graph)', (dim) => new HnswIndex(dim, { quantization: 'f32' }), euclidean, flags);

describe('HnswIndex', () => {
  it('is registered as an approximate, removable, persistent kind', () => {
    expect(indexKind('hnsw').capabilities).toEqual({
      exact: false,
      removable: true,
      persistent: true,
      needsTraining: false,
    });
  });

  it('keeps recall after removals and re-adds, and a file read back answers identically', () => {
    const all = clusteredMatrix(3050, 24, 3, 32);
    const x = { data: all.data.subarray(0, 3000 * 24), rows: 3000, cols: 24 };
    const q = { data: all.data.subarray(3000 * 24), rows: 50, cols: 24 };
    const index = new HnswIndex(24);
    index.add(x);
    const gone = Array.from({ length: 1000 }, (_, i) => i * 3);
    expect(index.remove(gone)).toBe(1000);
    expect(index.remove(gone)).toBe(0);
    const exact = new ExactEuclideanIndex(24);
    exact.add(x);
    exact.remove(gone);
    const res = index.search(q, 10);
    expect(Array.from(res.ids).some((id) => gone.includes(id))).toBe(false);
    expect(recallAtK(res, exact.search(q, 10))).toBeGreaterThanOrEqual(0.95);
    // One query alone (usearch answers it in another shape) ranks as its row of the batch.
    const single = index.search({ data: q.data.subarray(24, 48), rows: 1, cols: 24 }, 10);
    expect(Array.from(single.ids)).toEqual(Array.from(res.ids.subarray(10, 20)));
    // The chunks saveIndex streams are serialize()'s bytes.
    const whole = index.serialize();
    const parts = index.serializeParts();
    expect(Buffer.concat(parts).equals(Buffer.from(whole))).toBe(true);
    const back = deserializeIndex(whole, 'h.cbirindex') as HnswIndex;
    expect(back.options).toEqual(index.options);
    expect(back.search(q, 10)).toEqual(res);
    // A wider search list on the same graph: at least the recall, the same items.
    back.setExpansionSearch(256);
    expect(back.options.expansionSearch).toBe(256);
    expect(back.size).toBe(2000);
    expect(recallAtK(back.search(q, 10), exact.search(q, 10))).toBeGreaterThanOrEqual(
      recallAtK(res, exact.search(q, 10)),
    );
    expect(() => back.setExpansionSearch(0)).toThrow(/expansionSearch must be an integer >= 1/);
  });

  it('addAsync: builds in chunks with progress; stopped, it throws AbortedError and leaves the index as it was', async () => {
    const all = clusteredMatrix(2550, 16, 5, 16);
    const first = { data: all.data.subarray(0, 500 * 16), rows: 500, cols: 16 };
    const more = { data: all.data.subarray(500 * 16, 2500 * 16), rows: 2000, cols: 16 };
    const q = { data: all.data.subarray(2500 * 16), rows: 50, cols: 16 };
    const index = new HnswIndex(16);
    index.add(first);
    const before = index.search(q, 10);
    // Stopped after the second of four chunks: nothing of this call is left, in the graph or the store.
    const controller = new AbortController();
    const seen: number[] = [];
    const stopped = await index
      .addAsync(more, undefined, undefined, {
        chunk: 500,
        signal: controller.signal,
        onProgress: (e) => {
          if (e.stage === 'index') seen.push(e.done);
          if (seen.length === 2) controller.abort('test');
        },
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(stopped).toBeInstanceOf(AbortedError);
    expect(stopped).toMatchObject({ code: 'ABORTED', cause: 'test' });
    expect(seen).toEqual([500, 1000]);
    expect(index.size).toBe(500);
    expect(index.search(q, 10)).toEqual(before);
    // Run to the end: the same graph contents as one add (every row found by its own vector).
    const events: number[] = [];
    await index.addAsync(more, undefined, undefined, {
      chunk: 700,
      onProgress: (e) => e.stage === 'index' && events.push(e.done),
    });
    expect(events).toEqual([700, 1400, 2000]);
    expect(index.size).toBe(2500);
    const exact = new ExactEuclideanIndex(16);
    exact.add(first);
    exact.add(more);
    expect(recallAtK(index.search(q, 10), exact.search(q, 10))).toBeGreaterThanOrEqual(0.95);
  });

  it('searchAmong keeps recall@10 >= 0.95 against the exact filtered search at 50%, 5% and 0.5% of the rows', () => {
    const n = 44_000;
    const all = clusteredMatrix(n + 20, 16, 7, 40);
    const x = { data: all.data.subarray(0, n * 16), rows: n, cols: 16 };
    const q = { data: all.data.subarray(n * 16), rows: 20, cols: 16 };
    const index = new HnswIndex(16);
    index.add(x);
    const exact = new ExactEuclideanIndex(16);
    exact.add(x);
    for (const every of [2, 20, 200]) {
      // 50% (22,000 rows: the graph searched deeper), 5% and 0.5% (few enough to scan exactly).
      const among = Array.from({ length: Math.ceil(n / every) }, (_, i) => i * every);
      const got = index.searchAmong(q, 10, among);
      const want = exact.searchAmong(q, 10, among);
      for (let t = 0; t < got.ids.length; t++) expect(got.ids[t] % every).toBe(0);
      expect(recallAtK(got, want, 10), `1 in ${every}`).toBeGreaterThanOrEqual(0.95);
      if (every > 2) expect(Array.from(got.ids)).toEqual(Array.from(want.ids));
    }
  });

  it('rejects bad options and a zero cosine query, naming what is expected', () => {
    expect(() => new HnswIndex(8, { connectivity: 1 })).toThrow(/connectivity must be an integer >= 2/);
    expect(() => new HnswIndex(8, { quantization: 'i4' as 'f16' })).toThrow(/quantization must be f32, f16 or bf16/);
    // The default f16 graph refuses what it cannot hold, before adding anything; f32 and bf16 take it.
    const big = { data: Float32Array.from({ length: 16 }, (_, i) => (i === 11 ? 7e4 : i)), rows: 2, cols: 8 };
    const f16 = new HnswIndex(8);
    expect(f16.options.quantization).toBe('f16');
    expect(() => f16.add(big)).toThrow(/row 1 holds 70000, beyond the \+-65504 of the graph's f16 vectors/);
    expect(f16.size).toBe(0);
    for (const quantization of ['f32', 'bf16'] as const) {
      const ok = new HnswIndex(8, { quantization });
      ok.add(big);
      expect(ok.size).toBe(2);
    }
    const c = new HnswIndex(4, { metric: 'cosine' });
    c.add(randomMatrix(100, 4, 1));
    expect(() => c.search({ data: new Float32Array(4), rows: 1, cols: 4 }, 3)).toThrow(/zero vector/);
  });

  it('refuses a file whose graph does not hold its rows', () => {
    const index = new HnswIndex(4);
    index.add(randomMatrix(100, 4, 2));
    const other = new HnswIndex(4);
    other.add(randomMatrix(90, 4, 2));
    // A file written with the other's graph under this one's rows: the checksum is right, the contents are not.
    const g = (other as unknown as { graphBytes(): Uint8Array }).graphBytes();
    (index as unknown as { graphBytes(): Uint8Array }).graphBytes = () => g;
    expect(() => deserializeIndex(index.serialize(), 'mixed.cbirindex')).toThrow(
      /mixed\.cbirindex holds a graph of 90 vectors for 100 rows/,
    );
  });
});
