import { FormatError, readFeatures } from 'cbir-core';
import { readNpy, unpickleNumpy, type NpyArray } from 'cbir-core/io';
import { describe, expect, it } from 'vitest';
import { fixtureBytes, fixtureJson } from '../helpers/fixtures.js';

// scripts/fixtures/make_notebook_artefact_fixtures.py: the notebook's features.pkl as numpy 1.24 pickles it.
const expected = fixtureJson<{ rows: number[][]; ids: number[] }>('notebook/latent.json');
const flat = expected.rows.flat();

describe("readFeatures: the notebook's features.pkl", () => {
  it.each([
    'features-p2',
    'features-p3',
    'features-p4',
    'features-p5',
    'features-numpy2',
    'features-f32-fortran',
    'features-bigendian',
  ])('%s.pkl: rows are features[i] flattened in C order, ids are indexes', (name) => {
    const f = readFeatures(fixtureBytes(`notebook/${name}.pkl`), `${name}.pkl`);
    expect(f.matrix.rows).toBe(6);
    expect(f.matrix.cols).toBe(128);
    // The values are float32 numbers stored as float64, so they come back exactly.
    expect(Array.from(f.matrix.data)).toEqual(flat);
    expect(f.ids).toEqual(expected.ids.map(String));
    expect(f.metadata).toMatchObject({ format: 'pickle', shape: [6, 8, 4, 4] });
  });

  it('a pickle of the bare array: row numbers as ids', () => {
    const f = readFeatures(fixtureBytes('notebook/features-bare.pkl'), 'features-bare.pkl');
    expect(Array.from(f.matrix.data)).toEqual(flat);
    expect(f.ids).toEqual(['0', '1', '2', '3', '4', '5']);
  });

  it('a .npy matrix, with ids from a .npy of int64', () => {
    const ids = readNpy(fixtureBytes('notebook/ids.npy'), 'ids.npy');
    expect(ids.dtype).toBe('<i8');
    const f = readFeatures(fixtureBytes('notebook/features.npy'), 'features.npy', { ids: ids.data });
    expect(Array.from(f.matrix.data)).toEqual(flat);
    expect(f.ids).toEqual(['100', '101', '102', '103', '104', '105']);
    expect(() => readFeatures(fixtureBytes('notebook/features.npy'), 'features.npy', { ids: [1, 2] })).toThrow(
      /6 rows but 2 ids/,
    );
  });

  it('never runs a pickle: a global outside the allow-list is refused by name', () => {
    expect(() => readFeatures(fixtureBytes('notebook/hostile.pkl'), 'hostile.pkl')).toThrow(FormatError);
    expect(() => readFeatures(fixtureBytes('notebook/hostile.pkl'), 'hostile.pkl')).toThrow(/posix\.system|os\.system/);
  });

  it('refuses what is not features, with what was expected', () => {
    expect(() => readFeatures(new TextEncoder().encode('hello world'), 'x.txt')).toThrow(
      /not a feature file: expected a cbir feature file/,
    );
    // A truncated pickle: every prefix fails with a FormatError, never another error or a partial result.
    const bytes = fixtureBytes('notebook/features-p4.pkl');
    for (const cut of [3, 50, 200, 1000, bytes.length - 1])
      expect(() => readFeatures(bytes.subarray(0, cut), 'cut.pkl')).toThrow(FormatError);
  });
});

describe('unpickleNumpy', () => {
  it('an array whose data is shorter than its shape is refused before anything is allocated', () => {
    // protocol 4 of np.zeros(2): shape patched to (200000000,)
    const bytes = fixtureBytes('notebook/features-p4.pkl').slice();
    const d = unpickleNumpy(bytes, 'features-p4.pkl') as Map<string, NpyArray>;
    expect(d.get('features')!.shape).toEqual([6, 8, 4, 4]);
    // Find the BININT1 6 of the shape tuple (K\x06 K\x08 K\x04 K\x04) and make the first dimension 255.
    const at = bytes.findIndex(
      (b, i) => b === 0x4b && bytes[i + 1] === 6 && bytes[i + 2] === 0x4b && bytes[i + 3] === 8,
    );
    expect(at).toBeGreaterThan(0);
    bytes[at + 1] = 255;
    expect(() => unpickleNumpy(bytes, 'patched.pkl')).toThrow(/shape \[255, 8, 4, 4\].*with 6144 bytes of data/);
  });
});
