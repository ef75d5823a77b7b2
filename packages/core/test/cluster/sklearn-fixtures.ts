import { type Matrix } from 'cbir-core';
import { readNpz, type NpyArray } from 'cbir-core/io';
import { fixtureBytes, fixtureJson } from '../helpers/fixtures.js';

/** The datasets and ks of scripts/fixtures/make_cluster_fixtures.py. */
export const CLUSTER_MANIFEST = fixtureJson<{ ks: number[]; datasets: Record<string, { rows: number; cols: number }> }>(
  'cluster/manifest.json',
);
export const DATASETS = Object.keys(CLUSTER_MANIFEST.datasets);

/** scikit-learn's outputs for one dataset, by array name. */
export function sklearnFixture(name: string): {
  x: Matrix;
  get: (key: string) => NpyArray;
  matrix: (key: string) => Matrix;
  scalar: (key: string) => number;
} {
  const arrays = readNpz(fixtureBytes(`cluster/${name}.npz`), `cluster/${name}.npz`);
  const get = (key: string): NpyArray => {
    const a = arrays.get(key);
    if (!a) throw new Error(`cluster/${name}.npz has no ${key}`);
    return a;
  };
  const matrix = (key: string): Matrix => {
    const a = get(key);
    return { data: Float32Array.from(a.data), rows: a.shape[0], cols: a.shape[1] };
  };
  return { x: matrix('x'), get, matrix, scalar: (key) => get(key).data[0] };
}
