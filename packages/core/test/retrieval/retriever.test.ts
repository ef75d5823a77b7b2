import { describe, expect, it } from 'vitest';
import {
  asAsyncIndex,
  CosineIndex,
  DiffusionReranker,
  ExactEuclideanIndex,
  ITEM_COLUMNS,
  idsPassing,
  whereFilter,
  QueryExpansionReranker,
  Retriever,
  searchReranked,
  type AsyncIndex,
  type QueryEmbedder,
} from 'cbir-core';
import { Rng } from '../../src/utils/rng.js';

const dim = 5;
const n = 30;
const rng = new Rng(11);
const data = Float32Array.from({ length: n * dim }, () => rng.normal());
const rows = { data, rows: n, cols: dim };
const exact = () => {
  const index = new ExactEuclideanIndex(dim);
  index.add(
    rows,
    undefined,
    Array.from({ length: n }, (_, i) => ({ path: `${i}.jpg` })),
  );
  return index;
};
const row = (i: number) => data.subarray(i * dim, (i + 1) * dim);

/** The k nearest ids to `q` by a float64 scan, `skip` left out. */
function oracle(q: Float32Array, k: number, skip?: number): number[] {
  const d = Array.from({ length: n }, (_, i) => {
    let s = 0;
    for (let j = 0; j < dim; j++) s += (data[i * dim + j] - q[j]) ** 2;
    return [i, s] as const;
  });
  return d
    .filter(([i]) => i !== skip)
    .sort((a, b) => a[1] - b[1] || a[0] - b[0])
    .slice(0, k)
    .map(([i]) => i);
}

/** An embedder that looks images up by name: image `"row:i"` is row i. */
function lookupEmbedder(): QueryEmbedder<string> & { disposed: number } {
  return {
    description: 'rows by name',
    dim,
    disposed: 0,
    embed: async (image) => row(Number(image.split(':')[1])).slice(),
    async embedMany(images) {
      return Promise.all(images.map((i) => this.embed(i).then((value) => ({ status: 'fulfilled' as const, value }))));
    },
    dispose() {
      this.disposed++;
    },
  };
}

describe('Retriever', () => {
  it('search: the k nearest, an item left out of its own results (self), padded past the index', async () => {
    const r = new Retriever(exact());
    const plain = await r.search({ data: row(3), rows: 1, cols: dim }, 4);
    expect(Array.from(plain.ids)).toEqual(oracle(row(3), 4));
    const self = await r.search({ data: data.subarray(0, 2 * dim), rows: 2, cols: dim }, 4, { self: [0, undefined] });
    expect(Array.from(self.ids.subarray(0, 4))).toEqual(oracle(row(0), 4, 0));
    expect(Array.from(self.ids.subarray(4, 8))).toEqual(oracle(row(1), 4));
    const all = await r.search({ data: row(5), rows: 1, cols: dim }, n + 3, { self: [5] });
    expect(Array.from(all.ids.subarray(0, n - 1))).toEqual(oracle(row(5), n - 1, 5));
    expect(Array.from(all.ids.subarray(n - 1))).toEqual([-1, -1, -1, -1]);
    expect(Array.from(all.distances.subarray(n - 1))).toEqual([Infinity, Infinity, Infinity, Infinity]);
    const empty = await new Retriever(new ExactEuclideanIndex(dim)).search({ data: row(0), rows: 1, cols: dim }, 2);
    expect(Array.from(empty.ids)).toEqual([-1, -1]);
    await expect(r.search({ data: row(0), rows: 1, cols: dim }, 0)).rejects.toThrow(/k must be a positive integer/);
  });

  it('search re-ranks with its re-ranker as searchReranked does (self given to it), unless told not to', async () => {
    const index = exact();
    const rr = DiffusionReranker.build(index, { k: 5 });
    const r = new Retriever(index, { reranker: rr });
    const q = { data: data.subarray(0, 3 * dim), rows: 3, cols: dim };
    const want = searchReranked(index, rr, q, 7, [0, 1, 2]);
    const got = await r.search(q, 6, { self: [0, 1, 2] });
    for (let i = 0; i < 3; i++)
      expect(Array.from(got.ids.subarray(i * 6, i * 6 + 6))).toEqual(
        Array.from(want.ids.subarray(i * 7, i * 7 + 7))
          .filter((id) => id !== i)
          .slice(0, 6),
      );
    expect(Array.from((await r.search(q, 6, { rerank: false })).ids)).toEqual(Array.from(index.search(q, 6).ids));
  });

  it('where filters exactly (with self and with a re-ranker); maxDistance cuts off; bad ones are refused', async () => {
    const index = exact();
    const r = new Retriever(index);
    const q = { data: row(3), rows: 1, cols: dim };
    // path = i.jpg: the even items whose number has a 1 or 2 in it, or id 7.
    const where = "(path LIKE '%1%' OR path LIKE '%2%') AND NOT path IN ('1.jpg', '21.jpg') OR id = 7";
    const passing = (i: number) => (/[12]/.test(String(i)) && ![1, 21].includes(i)) || i === 7;
    const want = oracle(row(3), n).filter(passing);
    expect(Array.from((await r.search(q, 5, { where })).ids)).toEqual(want.slice(0, 5));
    const self = await r.search({ data: row(12), rows: 1, cols: dim }, 4, { where, self: [12] });
    expect(Array.from(self.ids)).toEqual(oracle(row(12), n, 12).filter(passing).slice(0, 4));
    const few = await r.search(q, 20, { where: "label = 'none'" });
    expect(Array.from(few.ids)).toEqual(Array(20).fill(-1));
    // With a re-ranker: its ranking, filtered (searched deeper until enough pass).
    const rr = DiffusionReranker.build(index, { k: 5 });
    const reranked = await new Retriever(index, { reranker: rr }).search(q, 4, { where });
    expect(Array.from(reranked.ids)).toEqual(
      Array.from(searchReranked(index, rr, q, n).ids)
        .filter(passing)
        .slice(0, 4),
    );
    // maxDistance: only the results within it, nearest first.
    const all = await r.search(q, n);
    const cut = all.distances[6];
    const near = await r.search(q, 10, { maxDistance: cut });
    expect(Array.from(near.ids)).toEqual([...Array.from(all.ids.subarray(0, 7)), -1, -1, -1]);
    await expect(r.search(q, 3, { where: 'colour = 1' })).rejects.toThrow(
      /no column "colour" \(the columns: id, path, label, width, height, bytes, mtime, hash, taken, make, model, orientation, gps\)/,
    );
    await expect(r.search(q, 3, { maxDistance: -1 })).rejects.toThrow(/maxDistance must be a number >= 0/);
    await expect(new Retriever(asAsyncIndex(index)).search(q, 3, { where })).rejects.toThrow(/cannot filter its items/);
  });

  it('a filter passes the items the index holds now: what it passed is remembered only until the items change', async () => {
    const index = new ExactEuclideanIndex(2);
    index.add({ data: Float32Array.from([0, 0, 1, 0, 0, 1]), rows: 3, cols: 2 }, undefined, [
      { label: 'a', width: 100 },
      { label: 'b', width: 2000 },
      { label: 'a', width: 3000 },
    ]);
    const r = new Retriever(index);
    const q = { data: Float32Array.from([0, 0]), rows: 1, cols: 2 };
    const where = "label = 'a' AND width >= 1000";
    expect(Array.from((await r.search(q, 3, { where })).ids)).toEqual([2, -1, -1]);
    const before = index.version;
    index.add({ data: Float32Array.from([0.1, 0]), rows: 1, cols: 2 }, undefined, [{ label: 'a', width: 1500 }]);
    expect(index.version).not.toBe(before);
    expect(Array.from((await r.search(q, 3, { where })).ids)).toEqual([3, 2, -1]);
    await r.remove([2]);
    expect(Array.from((await r.search(q, 3, { where })).ids)).toEqual([3, -1, -1]);
    expect(idsPassing(index, whereFilter(where, ITEM_COLUMNS))).toEqual([3]);
    expect(idsPassing(index, whereFilter('id < 2 OR width IS NULL', ITEM_COLUMNS))).toEqual([0, 1]);
  });

  it('query embeds the images with its embedder and searches; without one it says how to get one', async () => {
    const embedder = lookupEmbedder();
    const r = new Retriever<string>(exact(), { embedder, source: 'photos.idx' });
    const res = await r.query(['row:4', 'row:9'], 3);
    expect(Array.from(res.ids)).toEqual([...oracle(row(4), 3), ...oracle(row(9), 3)]);
    r.dispose();
    expect(embedder.disposed).toBe(1);
    await expect(new Retriever(exact(), { source: 'photos.idx' }).query(['x'], 3)).rejects.toThrow(
      /no query embedder for photos\.idx; set one/,
    );
    expect(() => new Retriever(new ExactEuclideanIndex(7), { embedder: lookupEmbedder() })).toThrow(
      /makes 5-d vectors; index holds 7-d vectors/,
    );
  });

  it('add and remove change the index and drop a re-ranker whose graph they make stale; a stateless one stays', async () => {
    const index = exact();
    const r = new Retriever(index, { reranker: DiffusionReranker.build(index, { k: 4 }) });
    expect(await r.add({ data: row(0).map((v) => v + 1), rows: 1, cols: dim }, [100])).toEqual({
      droppedReranker: 'diffusion',
    });
    expect(index.size).toBe(n + 1);
    expect(r.reranker).toBeUndefined();
    r.reranker = new QueryExpansionReranker(index);
    expect(await r.remove([100, 555])).toEqual({ removed: 1 });
    expect(r.reranker?.kind).toBe('qe');
    expect(await r.remove([555])).toEqual({ removed: 0 });
  });

  it('serialize writes the index with its provenance; deserialize restores both, and the re-ranker', async () => {
    const index = new CosineIndex(dim);
    index.add(rows);
    const extractor = { kind: 'colorhist', options: { bins: [2, 2, 2] }, state: { mean: Float32Array.of(1, 2) } };
    const r = new Retriever(index, { extractor, reranker: DiffusionReranker.build(index, { k: 4 }) });
    const back = Retriever.deserialize(r.serialize(), 'x.idx');
    expect(back.extractor).toEqual(extractor);
    expect(back.pipeline).toBeUndefined();
    expect(back.reranker?.spec()).toEqual(r.reranker?.spec());
    const q = { data: row(2), rows: 1, cols: dim };
    expect(await back.search(q, 5)).toEqual(await r.search(q, 5));
    const parts = r.serializeParts();
    expect(Buffer.concat(parts).equals(Buffer.from(r.serialize()))).toBe(true);
  });

  it('an index that persists itself keeps the provenance beside it (ownerData); re-rankers stay in memory', async () => {
    let saved: Uint8Array | undefined;
    const table = Object.defineProperties(asAsyncIndex(exact()), {
      ownerData: { get: () => saved },
      saveOwnerData: { value: async (b: Uint8Array) => void (saved = b) },
    }) as AsyncIndex;
    const pipeline = {
      architecture: 'ConvAutoencoder',
      inputSize: 32,
      model: 'abc-1',
      reducer: { kind: 'none' as const, latentShape: [1, 1, 5] as [number, number, number], dim },
    };
    await new Retriever(table, { pipeline }).save();
    expect(Retriever.open(table, 'table').pipeline).toEqual(pipeline);
    expect(() => new Retriever(table, { reranker: new QueryExpansionReranker(exact()) })).toThrow(
      /runs over an in-memory index/,
    );
    expect(() => new Retriever(table).serialize()).toThrow(/persists itself; use save\(\)/);
    await expect(new Retriever(exact()).save()).rejects.toThrow(/keeps nothing beside itself/);
  });
});
