import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { BlockExtractor, extractMatrix, ParallelExtractor, type RawImage } from 'cbir-node';
import { describe, expect, it } from 'vitest';

function card(seed: number): RawImage {
  const [width, height] = [40 + seed * 3, 36 + seed];
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * (seed + 7) + ((i * i) >>> 5)) & 255;
  return { data, width, height, channels: 3 };
}

describe('ParallelExtractor', () => {
  it('gives the raw vectors of the calling thread, in order, with the work split over the threads', async () => {
    const images = Array.from({ length: 7 }, (_, i) => card(i + 1));
    const spec = new BlockExtractor().spec();
    const fx = await ParallelExtractor.create(spec, { threads: 2 });
    try {
      // Workers load cbir-core's build; without it everything runs on this thread, and says so.
      const built = existsSync(createRequire(import.meta.url).resolve('cbir-core'));
      expect(fx.threads).toBe(built ? 2 : 1);
      const local = new BlockExtractor();
      const a = await extractMatrix(fx, images);
      const b = await extractMatrix(local, images);
      expect(a.rows).toBe(7);
      expect(Array.from(a.data)).toEqual(Array.from(b.data));
      fx.fit(a);
      expect(fx.spec().state).toBeDefined();
      expect([fx.kind, fx.dim, fx.needsFit, fx.imageSize]).toEqual(['fused', local.dim, true, 'original']);
    } finally {
      await fx.close();
    }
    await expect(ParallelExtractor.create(spec, { threads: 0 })).rejects.toThrow(/threads must be a positive integer/);
  });
});
