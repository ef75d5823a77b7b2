import { ExactEuclideanIndex, searchHits } from 'cbir-core';
import { describe, expect, it } from 'vitest';

describe('searchHits', () => {
  it("lists one query's results nearest first with their metadata, without the padding", () => {
    const index = new ExactEuclideanIndex(1);
    index.add(
      { data: Float32Array.of(0, 10, 3), rows: 3, cols: 1 },
      [7, 8, 9],
      [{ path: 'a.jpg', label: 'x' }, { path: 'b.jpg' }, undefined],
    );
    const result = index.search({ data: Float32Array.of(1, 9), rows: 2, cols: 1 }, 5); // 5 > 3 items: padded
    expect(searchHits(index, result, 0)).toEqual([
      { id: 7, distance: 1, path: 'a.jpg', label: 'x' },
      { id: 9, distance: 2 },
      { id: 8, distance: 9, path: 'b.jpg' },
    ]);
    expect(searchHits(index, result, 1).map((h) => h.id)).toEqual([8, 9, 7]);
  });
});
