import { mkdir, mkdtemp, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileFacts, moveFiles } from 'cbir-node';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cbir-move-'));
  await mkdir(join(dir, 'photos/2019'), { recursive: true });
  await writeFile(join(dir, 'photos/a.jpg'), 'a');
  await writeFile(join(dir, 'photos/2019/b.jpg'), 'bb');
  await writeFile(join(dir, 'photos/2019/c.jpg'), 'ccc');
});
afterEach(() => rm(dir, { recursive: true }));

const tree = async (d: string) => (await readdir(d, { recursive: true })).map(String).sort();

describe('moveFiles', () => {
  it('moves nothing on a dry run, and with apply keeps the paths under the destination', async () => {
    const files = ['a.jpg', '2019/b.jpg'];
    const dry = await moveFiles(join(dir, 'photos'), files, join(dir, 'dups'));
    expect(dry).toEqual({ moved: files, finished: [] });
    expect(await tree(join(dir, 'photos'))).toEqual(['2019', '2019/b.jpg', '2019/c.jpg', 'a.jpg']);
    const seen: number[] = [];
    await moveFiles(join(dir, 'photos'), files, join(dir, 'dups'), {
      apply: true,
      onProgress: (e) => 'done' in e && seen.push(e.done),
    });
    expect(seen).toEqual([1, 2]);
    expect(await tree(join(dir, 'photos'))).toEqual(['2019', '2019/c.jpg']);
    expect(await tree(join(dir, 'dups'))).toEqual(['2019', '2019/b.jpg', 'a.jpg']);
    expect(await readFile(join(dir, 'dups/2019/b.jpg'), 'utf8')).toBe('bb');
  });

  it('resumes an interrupted run: a copy already in place finishes, a moved file counts as done', async () => {
    await mkdir(join(dir, 'dups/2019'), { recursive: true });
    await writeFile(join(dir, 'dups/2019/b.jpg'), 'bb'); // copied, original not yet removed
    await writeFile(join(dir, 'dups/x.jpg'), 'x'); // moved by the earlier run
    const r = await moveFiles(join(dir, 'photos'), ['x.jpg', '2019/b.jpg', 'a.jpg'], join(dir, 'dups'), {
      apply: true,
    });
    expect(r).toEqual({ moved: ['a.jpg'], finished: ['x.jpg', '2019/b.jpg'] });
    expect(await tree(join(dir, 'photos'))).toEqual(['2019', '2019/c.jpg']);
  });

  it('never replaces a different file, and refuses a destination inside the folder', async () => {
    await mkdir(join(dir, 'dups'), { recursive: true });
    await writeFile(join(dir, 'dups/a.jpg'), 'not a');
    await expect(moveFiles(join(dir, 'photos'), ['a.jpg'], join(dir, 'dups'), { apply: true })).rejects.toThrow(
      /dups\/a\.jpg already exists and is not a copy of .*photos\/a\.jpg/,
    );
    expect(await readFile(join(dir, 'photos/a.jpg'), 'utf8')).toBe('a');
    expect(await readFile(join(dir, 'dups/a.jpg'), 'utf8')).toBe('not a');
    await expect(moveFiles(join(dir, 'photos'), ['a.jpg'], join(dir, 'photos/dups'))).rejects.toThrow(
      /is inside the folder/,
    );
    await expect(moveFiles(join(dir, 'photos'), ['../x.jpg'], join(dir, 'dups'))).rejects.toThrow(/is not inside/);
  });
});

describe('fileFacts', () => {
  it('reads pixels, bytes, EXIF fields and the time taken (else the file time)', async () => {
    const pixels = { create: { width: 40, height: 30, channels: 3 as const, background: '#468' } };
    await sharp(pixels)
      .withExif({ IFD0: { Make: 'cbir', Model: 'test' }, IFD2: { DateTimeOriginal: '2001:02:03 04:05:06' } })
      .jpeg()
      .toFile(join(dir, 'exif.jpg'));
    await sharp(pixels).png().toFile(join(dir, 'plain.png'));
    const when = new Date('2010-01-01T00:00:00Z');
    await utimes(join(dir, 'plain.png'), when, when);
    const exif = await fileFacts(join(dir, 'exif.jpg'));
    expect(exif.pixels).toBe(1200);
    expect(exif.bytes).toBe((await stat(join(dir, 'exif.jpg'))).size);
    expect(exif.exifFields).toBeGreaterThanOrEqual(3);
    expect(new Date(exif.time).getFullYear()).toBe(2001);
    const plain = await fileFacts(join(dir, 'plain.png'));
    expect(plain).toMatchObject({ pixels: 1200, exifFields: 0, time: when.getTime() });
    await expect(fileFacts(join(dir, 'photos/a.jpg'))).rejects.toThrow(/cannot read .*a\.jpg as an image/);
  });
});
