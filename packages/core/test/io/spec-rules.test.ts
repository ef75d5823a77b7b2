import { describe, expect, it } from 'vitest';
import {
  BlockExtractor,
  DiffusionReranker,
  ExactEuclideanIndex,
  FormatError,
  deserializeFeatures,
  Retriever,
  serializeFeatures,
} from 'cbir-core';
import { withHeader, type Header } from '../helpers/framed.js';

describe('saved extractor and re-ranker specs: every field checked on load', () => {
  const fx = new BlockExtractor();
  const raw = {
    data: Float32Array.from({ length: 3 * fx.rawDim }, (_, i) => Math.sin(i) + 1),
    rows: 3,
    cols: fx.rawDim,
  };
  fx.fit(raw);
  const features = serializeFeatures({
    matrix: fx.transform(raw),
    ids: ['a', 'b', 'c'],
    labels: [undefined, undefined, undefined],
    extractor: fx.spec(),
  });
  const index = new ExactEuclideanIndex(fx.dim);
  index.add(fx.transform(raw));
  const retriever = new Retriever(index, { extractor: fx.spec() });
  const cases: [string, (h: Header) => void, RegExp][] = [
    [
      'a block weight of 1e9',
      (h) => (h.extractor.options.blocks[0].weight = 1e9),
      /blocks\[0\]\.weight is 1000000000; expected a number above 0 up to 1000/,
    ],
    [
      '2^53 + 1 where an integer belongs',
      (h) => (h.extractor.options.blocks[1].short = '__BIG__'),
      /blocks\[1\]\.short is 9007199254740992; expected a whole number from 16 to 4096/,
    ],
    [
      '1.5 grid cells',
      (h) => (h.extractor.options.blocks[2].options = { grid: 1.5 }),
      /blocks\[2\]\.options\.grid is 1\.5; expected a whole number/,
    ],
    [
      '"None" for a norm',
      (h) => (h.extractor.options.blocks[3].norm = 'None'),
      /blocks\[3\]\.norm is "None"; expected one of hellinger, zscore, l2, none/,
    ],
    [
      'null for a crop',
      (h) => (h.extractor.options.blocks[0].crop = null),
      /blocks\[0\]\.crop is null; expected true or false/,
    ],
    [
      'an unknown key',
      (h) => (h.extractor.options.blocks[0].gain = 2),
      /blocks\[0\]\.gain is 2; expected no such field/,
    ],
    ['an unknown block kind', (h) => (h.extractor.options.blocks[0].kind = 'sift'), /blocks\[0\]\.kind is "sift"/],
    [
      'seventeen blocks',
      (h) => (h.extractor.options.blocks = Array(17).fill(h.extractor.options.blocks[0])),
      /blocks is .*expected a list of 1 to 16 values/,
    ],
    [
      'colour bins of 1e6',
      (h) => (h.extractor.options.blocks[0].options = { bins: [8, 1e6, 4] }),
      /options\.bins\[1\] is 1000000/,
    ],
  ];
  it.each(cases)(
    'a feature file and an index with %s are refused, naming the file and the field',
    (_, edit, message) => {
      expect(() => deserializeFeatures(withHeader(features, edit), 'f.cbirfeat')).toThrow(FormatError);
      expect(() => deserializeFeatures(withHeader(features, edit), 'f.cbirfeat')).toThrow(
        /f\.cbirfeat's feature extractor \(fused\): options\./,
      );
      expect(() => deserializeFeatures(withHeader(features, edit), 'f.cbirfeat')).toThrow(message);
      expect(() => Retriever.deserialize(withHeader(retriever.serialize(), edit), 'x.idx')).toThrow(message);
    },
  );

  it("a saved diffusion re-ranker's options are checked too; today's files read back unchanged", () => {
    const small = new ExactEuclideanIndex(4);
    small.add({ data: Float32Array.from({ length: 40 }, (_, i) => Math.cos(i)), rows: 10, cols: 4 });
    const withGraph = new Retriever(small, { reranker: DiffusionReranker.build(small, { k: 3 }) });
    expect(Retriever.deserialize(withGraph.serialize(), 'r.idx').reranker?.spec()).toEqual(withGraph.reranker?.spec());
    for (const [edit, message] of [
      [(h: Header) => (h.rerank.options.k = 1e9), /r\.idx's re-ranker \(diffusion\): options\.k is 1000000000/],
      [(h: Header) => (h.rerank.options.alpha = 1.5), /options\.alpha is 1\.5; expected a number above 0 up to 1/],
      [(h: Header) => (h.rerank.kind = 'magic'), /kind is "magic"; expected one of diffusion, qe/],
    ] as const)
      expect(() => Retriever.deserialize(withHeader(withGraph.serialize(), edit), 'r.idx')).toThrow(message);
    expect(deserializeFeatures(features, 'f.cbirfeat').extractor).toEqual(fx.spec());
  });
});
