import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readImageInfo, readImageInfos } from 'cbir-node';

let dir: string;
const pixels = { create: { width: 40, height: 30, channels: 3 as const, background: '#468' } };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cbir-info-'));
  await sharp(pixels)
    .withExif({
      IFD0: { Make: 'Canon\0', Model: ' EOS 5D ' },
      IFD2: { DateTimeOriginal: '2019:07:04 18:30:05' },
      IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '51/1 30/1 0/1', GPSLongitudeRef: 'W', GPSLongitude: '0/1 7/1 0/1' },
    })
    .withMetadata({ orientation: 6 })
    .jpeg()
    .toFile(join(dir, 'exif.jpg'));
  await sharp(pixels)
    .withExif({ IFD0: { Make: 'Nikon' }, IFD2: { DateTimeOriginal: '0000:00:00 00:00:00' } })
    .jpeg()
    .toFile(join(dir, 'zero-date.jpg'));
  await sharp(pixels).png().toFile(join(dir, 'plain.png'));
  const when = new Date('2010-01-01T00:00:00.250Z');
  await utimes(join(dir, 'plain.png'), when, when);
  await writeFile(join(dir, 'text.jpg'), 'not an image');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('readImageInfo', () => {
  it('reads size, time, content hash and EXIF (zone-less dates as written, padding trimmed)', async () => {
    const bytes = await readFile(join(dir, 'exif.jpg'));
    const info = await readImageInfo(join(dir, 'exif.jpg'));
    expect(info).toEqual({
      width: 40,
      height: 30,
      bytes: bytes.length,
      mtime: new Date(Math.floor((await stat(join(dir, 'exif.jpg'))).mtimeMs)).toISOString(),
      hash: createHash('sha256').update(bytes).digest('hex'),
      orientation: 6,
      taken: '2019-07-04T18:30:05.000Z',
      make: 'Canon',
      model: 'EOS 5D',
      gps: true,
    });
  });

  it('leaves out what a file does not say, and an impossible EXIF date', async () => {
    const plain = await readImageInfo(join(dir, 'plain.png'));
    expect(plain).toMatchObject({ width: 40, height: 30, mtime: '2010-01-01T00:00:00.250Z' });
    for (const k of ['taken', 'make', 'model', 'gps', 'orientation']) expect(plain).not.toHaveProperty(k);
    const zero = await readImageInfo(join(dir, 'zero-date.jpg'));
    expect(zero).toMatchObject({ make: 'Nikon', gps: false });
    expect(zero).not.toHaveProperty('taken');
  });

  it('names the file it cannot read, and readImageInfos gives undefined for it', async () => {
    await expect(readImageInfo(join(dir, 'text.jpg'))).rejects.toThrow(/text\.jpg is not an image/);
    await expect(readImageInfo(join(dir, 'missing.jpg'))).rejects.toThrow(/cannot read .*missing\.jpg/);
    const events: number[] = [];
    const all = await readImageInfos(
      ['exif.jpg', 'text.jpg', 'plain.png'].map((f) => join(dir, f)),
      { concurrency: 2, onProgress: (e) => events.push('done' in e ? e.done : -1) },
    );
    expect(all.map((m) => m?.width)).toEqual([40, undefined, 40]);
    expect(events).toEqual([1, 2, 3]);
    const stop = new AbortController();
    stop.abort();
    await expect(readImageInfos([join(dir, 'exif.jpg')], { signal: stop.signal })).rejects.toThrow(/stopped/);
  });
});
