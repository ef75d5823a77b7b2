import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hammingDistance, hashDuplicates, HASH_METHODS, imageHash, sharpDecoder, type RawImage } from 'cbir-node';

// The hashes imagededup's own code gives the fixture images (fixtures/dedup/make-fixtures.py ran it through
// ../shared/reference/dedup/imagededup_peer.py): PNGs of every mode Pillow converts (RGB, L, RGBA, P), sizes below,
// at and far from the hash sizes, transformed copies, and JPEGs (sharp and Pillow both decode with libjpeg-turbo).
const dir = join(import.meta.dirname, '../fixtures/dedup');
const expected = JSON.parse(readFileSync(join(dir, 'hashes.json'), 'utf8')) as Record<string, Record<string, string>>;
const files = readdirSync(join(dir, 'images')).sort();
const decoder = sharpDecoder({ orient: false });

describe("perceptual hashes with imagededup's bits", () => {
  const images = new Map<string, Promise<RawImage>>();
  const load = (f: string) => {
    if (!images.has(f)) images.set(f, decoder.decode(join(dir, 'images', f)));
    return images.get(f)!;
  };

  for (const method of HASH_METHODS)
    it(`${method}: the same 16 hex characters as imagededup for each of ${files.length} files`, async () => {
      expect(Object.keys(expected[method]).sort()).toEqual(files);
      const got: Record<string, string> = {};
      for (const f of files) got[f] = imageHash(await load(f), method);
      expect(got).toEqual(expected[method]);
    });

  it("hashDuplicates at threshold 10 lists each file's duplicates as imagededup's find_duplicates does", async () => {
    const want = JSON.parse(readFileSync(join(dir, 'duplicates-t10.json'), 'utf8')) as Record<
      string,
      Record<string, string[]>
    >;
    for (const method of HASH_METHODS) {
      const hashes = await Promise.all(files.map(async (f) => imageHash(await load(f), method)));
      const got: Record<string, string[]> = Object.fromEntries(files.map((f) => [f, [] as string[]]));
      for (const { a, b } of hashDuplicates(hashes, { maxDistance: 10 })) {
        got[files[a]].push(files[b]);
        got[files[b]].push(files[a]);
      }
      for (const f of files) got[f].sort();
      expect(got).toEqual(want[method]);
    }
  });

  it('a grey or RGBA image hashes as its RGB (grey replicated, alpha dropped)', async () => {
    const rgb = await load('scene-320x240.png');
    const grey: RawImage = { ...rgb, channels: 1, data: rgb.data.filter((_, i) => i % 3 === 1) };
    const asRgb: RawImage = {
      ...grey,
      channels: 3,
      data: Uint8Array.from(rgb.data, (_, i) => grey.data[Math.floor(i / 3)]),
    };
    const rgba: RawImage = {
      ...rgb,
      channels: 4,
      data: Uint8Array.from({ length: rgb.width * rgb.height * 4 }, (_, i) =>
        i % 4 === 3 ? 7 : rgb.data[(i >> 2) * 3 + (i % 4)],
      ),
    };
    for (const m of HASH_METHODS) {
      expect(imageHash(grey, m)).toBe(imageHash(asRgb, m));
      expect(imageHash(rgba, m)).toBe(imageHash(rgb, m));
    }
  });

  it('hammingDistance counts differing bits; bad input is refused naming it', () => {
    expect(hammingDistance('ffff000000000000', 'fff0000000000001')).toBe(5);
    expect(hammingDistance('0123456789abcdef', '0123456789ABCDEF')).toBe(0);
    expect(hammingDistance('0000000000000000', 'ffffffffffffffff')).toBe(64);
    expect(() => hammingDistance('abc', '0000000000000000')).toThrow(/16 hex characters, got "abc"/);
    expect(() => imageHash({ width: 0, height: 0, channels: 3, data: new Uint8Array(0) }, 'phash')).toThrow(
      /no pixels/,
    );
    expect(() => imageHash({ width: 1, height: 1, channels: 3, data: new Uint8Array(3) }, 'md5' as never)).toThrow(
      /method must be one of phash, dhash, ahash, whash/,
    );
  });
});
