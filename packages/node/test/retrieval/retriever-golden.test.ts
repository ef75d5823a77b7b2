import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { asAsyncIndex, deserializeIndex, ExactEuclideanIndex, Retriever, type Index } from 'cbir-node';

// Index files written by the release before the Retriever (b4fe151), when provenance sat on the index: made by
// fixtures/retrievers/make-golden.mjs with that commit's build, with the answers it gave.
const dir = join(import.meta.dirname, '../fixtures/retrievers');
const bytes = (name: string) => new Uint8Array(readFileSync(join(dir, name)));
const answers = JSON.parse(readFileSync(join(dir, 'answers.json'), 'utf8')) as Record<
  string,
  { search: { ids: number[]; distances: number[] }; reranked?: { ids: number[]; distances: number[] } }
>;
const q = Float32Array.from(JSON.parse(readFileSync(join(dir, 'queries.json'), 'utf8')) as number[]);
const queries = { data: q, rows: 3, cols: 6 };

const expectSame = (
  got: { ids: Float64Array; distances: Float64Array },
  want: { ids: number[]; distances: number[] },
) => {
  expect(Array.from(got.ids)).toEqual(want.ids);
  Array.from(got.distances).forEach((d, i) => expect(d).toBeCloseTo(want.distances[i], 12));
};

describe('index files written before the Retriever (golden files)', () => {
  const provenance: Record<string, (r: Retriever) => void> = {
    exact: (r) => {
      expect(r.pipeline).toMatchObject({ architecture: 'ConvAutoencoderV1', inputSize: 32, model: '0badf00d-10' });
      expect(r.pipeline?.reducer).toMatchObject({ kind: 'pca', dim: 6, l2: true });
      expect(r.pipeline?.reducer.components?.length).toBe(72);
      expect(r.reranker?.kind).toBe('diffusion');
    },
    cosine: (r) => {
      expect(r.extractor?.kind).toBe('fused');
      expect(Object.keys(r.extractor?.state ?? {}).sort()).toEqual([
        'mean.1',
        'mean.2',
        'mean.3',
        'std.1',
        'std.2',
        'std.3',
      ]);
      expect(r.reranker?.kind).toBe('qe');
      expect(r.index.nextId).toBe(71);
    },
    lsh: (r) => {
      expect(r.pipeline?.reducer.kind).toBe('pca');
      expect(r.reranker).toBeUndefined();
    },
    hnsw: (r) => {
      expect(r.index.kind).toBe('hnsw');
      expect(r.extractor?.kind).toBe('fused');
    },
  };
  for (const [name, check] of Object.entries(provenance)) {
    it(`${name}: loads with its provenance, answers as it did, and writes the same bytes back`, async () => {
      const golden = bytes(`${name}.cbirindex`);
      const r = Retriever.deserialize(golden, `${name}.cbirindex`);
      check(r);
      expectSame(await r.search(queries, 5, { rerank: false }), answers[name].search);
      if (answers[name].reranked) expectSame(await r.search(queries, 5), answers[name].reranked!);
      expect(Buffer.from(r.serialize()).equals(Buffer.from(golden))).toBe(true);
      // The index alone reads the same file (its owner's sections passed over).
      const index = deserializeIndex(golden, name) as Index;
      expectSame(index.search(queries, 5), answers[name].search);
    });
  }

  it("a LanceDB table's specs row (an empty index file carrying them) reads as the retriever's provenance", () => {
    const golden = bytes('lance-specs.cbirindex');
    const carrier = Object.assign(asAsyncIndex(new ExactEuclideanIndex(6)), { ownerData: golden });
    const r = Retriever.open(carrier, 'table');
    expect(r.pipeline?.architecture).toBe('ConvAutoencoderV1');
    expect(r.extractor?.kind).toBe('fused');
    expect(Buffer.from(Retriever.ownerDataFor(6, r.provenance())).equals(Buffer.from(golden))).toBe(true);
  });
});
