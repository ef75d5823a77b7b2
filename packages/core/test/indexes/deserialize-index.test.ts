import { describe, expect, it } from 'vitest';
import {
  ExactEuclideanIndex,
  FormatError,
  IndexFormatError,
  deserializeFeatures,
  deserializeIndex,
  serializeFeatures,
} from 'cbir-core';
import { crc32 } from 'cbir-core/io';
import { fixtureBytes } from '../helpers/fixtures.js';
import { goldenIndexes } from './golden.js';

describe('CBIRINDX golden files', () => {
  const fresh = goldenIndexes();

  it.each(Object.keys(fresh))("%s: today's serializer writes the committed bytes, and they read back", (name) => {
    const golden = fixtureBytes(`indexes/${name}.cbirindex`);
    expect(Array.from(fresh[name].serialize())).toEqual(Array.from(golden));
    const index = deserializeIndex(golden, `${name}.cbirindex`);
    expect(index.size).toBe(5);
    expect(index.idList()).toEqual([0, 3, 10, 2 ** 33, 7]);
    expect(index.metadata(0)).toEqual({ path: 'a/0.jpg', label: 'a' });
    const q = { data: Float32Array.from([1, -2, 0.5, 3]), rows: 1, cols: 4 };
    expect(index.search(q, 5)).toEqual(fresh[name].search(q, 5));
  });

  it.each(Object.keys(fresh))(
    "%s: a file from before nextId was saved reads as today's, its nextId one past its largest id",
    (name) => {
      const old = deserializeIndex(fixtureBytes(`indexes/${name}-before-nextid.cbirindex`), `${name}.cbirindex`);
      expect(old.nextId).toBe(2 ** 33 + 1);
      const q = { data: Float32Array.from([1, -2, 0.5, 3]), rows: 1, cols: 4 };
      expect(old.search(q, 5)).toEqual(fresh[name].search(q, 5));
    },
  );

  it('an id once removed is never given again, across a save and a load; a hostile nextId is refused', () => {
    const index = new ExactEuclideanIndex(2);
    index.add({ data: Float32Array.of(1, 2, 3, 4, 5, 6), rows: 3, cols: 2 });
    expect(index.remove([2, 1])).toBe(2);
    expect(index.nextId).toBe(3);
    const back = deserializeIndex(index.serialize(), 'r.idx');
    expect(back.nextId).toBe(3);
    back.add({ data: Float32Array.of(7, 8), rows: 1, cols: 2 });
    expect(back.idList()).toEqual([0, 3]);
    back.reset();
    back.add({ data: Float32Array.of(7, 8), rows: 1, cols: 2 });
    expect(back.idList()).toEqual([4]);
    const header = JSON.parse(
      new TextDecoder().decode(
        index.serialize().subarray(16, 16 + new DataView(index.serialize().buffer).getUint32(12, true)),
      ),
    );
    for (const bad of [0, -1, 1.5, '3', null, 2 ** 60])
      expect(() =>
        deserializeIndex(
          framed('CBIRINDX', JSON.stringify({ ...header, nextId: bad }), Float32Array.of(1, 2)),
          'n.idx',
        ),
      ).toThrow(/n\.idx has nextId .*expected an integer past its largest id \(0\)/);
  });

  it("reads an LSH file from before its metric named its distance (metric 'lsh') as today's", () => {
    const old = deserializeIndex(fixtureBytes('indexes/lsh-metric-lsh.cbirindex'), 'old.cbirindex');
    const q = { data: Float32Array.from([1, -2, 0.5, 3]), rows: 1, cols: 4 };
    expect(old.metric).toBe('sqeuclidean');
    expect(old.search(q, 5)).toEqual(fresh.lsh.search(q, 5));
  });

  it('rejects a file of another kind of format, a future version and a truncated file, naming it', () => {
    const golden = fixtureBytes('indexes/exact.cbirindex');
    expect(() => deserializeIndex(fixtureBytes('models/v1.safetensors'), 'w.safetensors')).toThrow(
      /w\.safetensors is not a CBIRINDX file/,
    );
    const future = golden.slice();
    new DataView(future.buffer).setUint32(8, 2, true);
    expect(() => deserializeIndex(future, 'f.cbirindex')).toThrow(IndexFormatError);
    expect(() => deserializeIndex(future, 'f.cbirindex')).toThrow(/version 2/);
    expect(() => deserializeIndex(golden.subarray(0, 30), 't.cbirindex')).toThrow(/t\.cbirindex/);
  });
});

/** A framed file with this header and body, its CRC-32 right: only the header is hostile. */
function framed(magic: string, header: string, body = new Float32Array(0)): Uint8Array {
  const json = new TextEncoder().encode(header);
  const out = new Uint8Array(16 + json.length + body.byteLength + 4);
  const v = new DataView(out.buffer);
  out.set(new TextEncoder().encode(magic));
  v.setUint32(8, 1, true);
  v.setUint32(12, json.length, true);
  out.set(json, 16);
  out.set(new Uint8Array(body.buffer), 16 + json.length);
  v.setUint32(out.length - 4, crc32(out.subarray(0, out.length - 4)), true);
  return out;
}

describe('hostile headers behind a valid checksum are FormatErrors naming the file', () => {
  it('index: malformed JSON, dim 0, an unknown metric, ids that do not match the size', () => {
    const good = new ExactEuclideanIndex(2);
    good.add({ data: Float32Array.of(1, 2), rows: 1, cols: 2 });
    const header = JSON.parse(
      new TextDecoder().decode(
        good.serialize().subarray(16, 16 + new DataView(good.serialize().buffer).getUint32(12, true)),
      ),
    );
    const body = Float32Array.of(1, 2);
    const cases: [string, RegExp][] = [
      ['{"kind": "exact", "dim": 2,', /x\.idx has a header that is not JSON/],
      ['[1, 2]', /not a JSON object/],
      [JSON.stringify({ ...header, dim: 0 }), /dim 0 and size 1; expected dim >= 1/],
      [JSON.stringify({ ...header, metric: 'manhattan' }), /says metric "manhattan" for a exact index/],
      [JSON.stringify({ ...header, ids: [] }), /inconsistent ids or metadata/],
      [JSON.stringify({ ...header, kind: 'hnsw' }), /kind "hnsw", which is not registered.*need cbir-node/],
    ];
    for (const [text, message] of cases) {
      expect(() => deserializeIndex(framed('CBIRINDX', text, body), 'x.idx'), text).toThrow(message);
      expect(() => deserializeIndex(framed('CBIRINDX', text, body), 'x.idx')).toThrow(FormatError);
    }
    expect(deserializeIndex(framed('CBIRINDX', JSON.stringify(header), body), 'x.idx').size).toBe(1);
  });

  it('feature file: a labels list shorter than the rows is refused on write and on read', () => {
    const matrix = { data: Float32Array.of(1, 2, 3, 4), rows: 2, cols: 2 };
    expect(() => serializeFeatures({ matrix, ids: ['a', 'b'], labels: ['x'] })).toThrow(/1 labels for 2 rows/);
    const header = JSON.stringify({ rows: 2, cols: 2, ids: ['a', 'b'], labels: ['x'], metadata: {} });
    expect(() => deserializeFeatures(framed('CBIRFEAT', header, matrix.data), 'f.cbirfeat')).toThrow(
      /f\.cbirfeat has 1 labels for 2 rows/,
    );
  });
});
