import { describe, expect, it } from 'vitest';
import {
  CbirError,
  ExactEuclideanIndex,
  IndexFormatError,
  checkItemMetadata,
  deserializeFeatures,
  deserializeIndex,
  serializeFeatures,
} from 'cbir-core';
import { writeFramed } from '../../src/io/framed-file.js';
import { FULL_METADATA } from './index-contract.js';

describe('checkItemMetadata', () => {
  it('keeps the known fields of their types, drops nulls and unknown keys', () => {
    expect(checkItemMetadata(FULL_METADATA, 'x')).toEqual(FULL_METADATA);
    expect(checkItemMetadata({ path: 'a', label: null, exposure: 3 }, 'x')).toEqual({ path: 'a' });
    expect(checkItemMetadata(null, 'x')).toBeUndefined();
    expect(checkItemMetadata({}, 'x')).toBeUndefined();
  });

  it.each([
    [{ width: '640' }, /"width" must be a finite number, got "640"/],
    [{ width: Infinity }, /"width" must be a finite number/],
    [{ gps: 1 }, /"gps" must be a boolean, got 1/],
    [{ taken: '2024-06-01' }, /"taken" must be a UTC ISO 8601 instant/],
    [{ mtime: '2024-02-30T00:00:00.000Z' }, /"mtime" must be a UTC ISO 8601 instant/],
    [{ label: 'x'.repeat(4097) }, /"label" must be a string of at most 4096 characters/],
    [[1], /item 3: metadata must be an object or null/],
    ['beach', /metadata must be an object or null, got "beach"/],
  ])('refuses %j, naming where and what was expected', (value, message) => {
    expect(() => checkItemMetadata(value, 'item 3')).toThrow(CbirError);
    expect(() => checkItemMetadata(value, 'item 3')).toThrow(message);
  });
});

describe('metadata in files', () => {
  it('an index file with a bad metadata field is refused by name', () => {
    const header = { kind: 'exact', metric: 'euclidean', dim: 2, size: 1, ids: [4], metadata: [{ bytes: 'big' }] };
    const bytes = writeFramed('CBIRINDX', 1, header, [Float32Array.from([1, 2])]);
    expect(() => deserializeIndex(bytes, 'old.cbirindex')).toThrow(IndexFormatError);
    expect(() => deserializeIndex(bytes, 'old.cbirindex')).toThrow(
      /old\.cbirindex item 4: metadata field "bytes" must be a finite number, got "big"\. Rebuild it/,
    );
    header.metadata = [{ bytes: 12 } as never];
    const ok = deserializeIndex(writeFramed('CBIRINDX', 1, header, [Float32Array.from([1, 2])]), 'ok');
    expect(ok).toBeInstanceOf(ExactEuclideanIndex);
    expect(ok.metadata(4)).toEqual({ bytes: 12 });
  });

  it('a feature file keeps each row info, and refuses a bad one', () => {
    const matrix = { data: Float32Array.from([1, 2, 3, 4]), rows: 2, cols: 2 };
    const f = { matrix, ids: ['a.jpg', 'b.jpg'], labels: [undefined, 'x'], info: [FULL_METADATA, undefined] };
    const back = deserializeFeatures(serializeFeatures(f), 'f.cbirfeat');
    expect(back.info).toEqual([FULL_METADATA, undefined]);
    expect(() => serializeFeatures({ ...f, info: [undefined] })).toThrow(/1 info for 2 rows/);
    const bad = serializeFeatures({ ...f, info: [{ taken: 'yesterday' } as never, undefined] });
    expect(() => deserializeFeatures(bad, 'f.cbirfeat')).toThrow(/f\.cbirfeat row 0: metadata field "taken"/);
  });
});
