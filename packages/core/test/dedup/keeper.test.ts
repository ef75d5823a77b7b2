import { describe, expect, it } from 'vitest';
import { CbirError, chooseKeeper, duplicateGroups, type FileFacts } from 'cbir-core';
import { Rng } from '../../src/utils/rng.js';

/** The components by breadth-first search over an adjacency list: the oracle. */
function components(n: number, pairs: { a: number; b: number }[]): number[][] {
  const adj = Array.from({ length: n }, () => [] as number[]);
  for (const { a, b } of pairs) (adj[a].push(b), adj[b].push(a));
  const seen = new Array<boolean>(n).fill(false);
  const out: number[][] = [];
  for (let s = 0; s < n; s++) {
    if (seen[s]) continue;
    const group = [s];
    seen[s] = true;
    for (let q = 0; q < group.length; q++)
      for (const t of adj[group[q]]) if (!seen[t]) ((seen[t] = true), group.push(t));
    if (group.length > 1) out.push(group.sort((x, y) => x - y));
  }
  return out;
}

describe('duplicateGroups', () => {
  it('gives the connected components of two or more, as a breadth-first search does', () => {
    const rng = new Rng(11);
    for (const [n, m] of [
      [1, 0],
      [10, 4],
      [200, 150],
      [500, 40],
    ]) {
      const pairs = Array.from({ length: m }, () => ({ a: rng.int(n), b: rng.int(n) }));
      expect(duplicateGroups(n, pairs)).toEqual(components(n, pairs));
    }
  });

  it('refuses a pair outside the items', () => {
    expect(() => duplicateGroups(3, [{ a: 0, b: 3 }])).toThrow(/pair \(0, 3\) names an item outside 0..2/);
  });
});

describe('chooseKeeper', () => {
  const f = (pixels: number, bytes: number, exifFields: number, time: number): FileFacts => ({
    pixels,
    bytes,
    exifFields,
    time,
  });
  it('keeps the most pixels, then the largest file, then the most EXIF fields, then the oldest', () => {
    expect(chooseKeeper([f(100, 9, 9, 0), f(200, 1, 0, 9)])).toBe(1);
    expect(chooseKeeper([f(100, 9, 0, 9), f(100, 8, 9, 0)])).toBe(0);
    expect(chooseKeeper([f(100, 9, 1, 0), f(100, 9, 2, 9)])).toBe(1);
    expect(chooseKeeper([f(100, 9, 2, 5), f(100, 9, 2, 3), f(100, 9, 2, 4)])).toBe(1);
    expect(chooseKeeper([f(1, 1, 1, 1), f(1, 1, 1, 1)])).toBe(0);
    expect(() => chooseKeeper([])).toThrow(CbirError);
  });
});
