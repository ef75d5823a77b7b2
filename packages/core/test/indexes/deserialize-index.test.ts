import { describe, expect, it } from 'vitest';
import { IndexFormatError, deserializeIndex } from 'cbir-core';
import { fixtureBytes } from '../helpers/fixtures.js';
import { goldenIndexes } from './golden.js';

describe('CBIRINDX golden files', () => {
  const fresh = goldenIndexes();

  it.each(Object.keys(fresh))('%s: today\'s serializer writes the committed bytes, and they read back', (name) => {
    const golden = fixtureBytes(`indexes/${name}.cbirindex`);
    expect(Array.from(fresh[name].serialize())).toEqual(Array.from(golden));
    const index = deserializeIndex(golden, `${name}.cbirindex`);
    expect(index.size).toBe(5);
    expect(index.idList()).toEqual([0, 3, 10, 2 ** 33, 7]);
    expect(index.metadata(0)).toEqual({ path: 'a/0.jpg', label: 'a' });
    const q = { data: Float32Array.from([1, -2, 0.5, 3]), rows: 1, cols: 4 };
    expect(index.search(q, 5)).toEqual(fresh[name].search(q, 5));
  });

  it('rejects a file of another kind of format, a future version and a truncated file, naming it', () => {
    const golden = fixtureBytes('indexes/exact.cbirindex');
    expect(() => deserializeIndex(fixtureBytes('models/v1.safetensors'), 'w.safetensors')).toThrow(/w\.safetensors is not a CBIRINDX file/);
    const future = golden.slice();
    new DataView(future.buffer).setUint32(8, 2, true);
    expect(() => deserializeIndex(future, 'f.cbirindex')).toThrow(IndexFormatError);
    expect(() => deserializeIndex(future, 'f.cbirindex')).toThrow(/version 2/);
    expect(() => deserializeIndex(golden.subarray(0, 30), 't.cbirindex')).toThrow(/t\.cbirindex/);
  });
});
