import { describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CbirError, ImageDecodeError, directoryDataset, skippedNote } from 'cbir-node';
import { makeImageFolder } from '../helpers.js';

describe('directoryDataset', () => {
  it('walks class folders in sorted order, labels by sub-folder, ignores non-images', async () => {
    const dir = await makeImageFolder(3, ['b', 'a']);
    const data = await directoryDataset(dir, { size: 32 });
    expect(data.size).toBe(7); // 6 images + the corrupt .jpg
    expect(data.labels).toEqual(['a', 'b']);
    expect(data.ignored).toEqual(['README.md']);
    expect(data.entry(0)).toEqual({ id: 'a/0.jpg', label: 'a' });
    expect(Array.from({ length: data.size }, (_, i) => data.entry(i).id)).toEqual([
      'a/0.jpg',
      'a/1.png',
      'a/2.jpg',
      'b/0.jpg',
      'b/1.png',
      'b/2.jpg',
      'b/corrupt.jpg',
    ]);
  });

  it('decodes every mode to size x size RGB and reports a corrupt file as ImageDecodeError', async () => {
    const dir = await makeImageFolder(5, ['x']);
    const data = await directoryDataset(dir, { size: 24, fit: 'contain' });
    for (let i = 0; i < data.size; i++) {
      if (data.entry(i).id.endsWith('corrupt.jpg')) {
        await expect(data.read(i)).rejects.toBeInstanceOf(ImageDecodeError);
        continue;
      }
      const img = await data.read(i);
      expect([img.width, img.height, img.channels, img.data.length]).toEqual([24, 24, 3, 24 * 24 * 3]);
    }
  });

  it('follows symbolic links to images and class folders, guards against loops, and reports what it skipped', async () => {
    const images = await makeImageFolder(2, ['red', 'blue']);
    const dir = await mkdtemp(join(tmpdir(), 'cbir-links-'));
    await mkdir(join(dir, 'green'));
    await symlink(join(images, 'red', '0.jpg'), join(dir, 'green', 'linked.jpg')); // a linked image
    await symlink(join(images, 'blue'), join(dir, 'blue')); // a linked class folder
    await symlink(dir, join(dir, 'green', 'loop')); // a link back to the root
    await symlink(join(dir, 'nowhere.jpg'), join(dir, 'green', 'broken.jpg'));
    await writeFile(join(dir, 'green', '.DS_Store'), 'x');
    const data = await directoryDataset(dir, { size: 16 });
    expect(Array.from({ length: data.size }, (_, i) => data.entry(i).id)).toEqual([
      'blue/0.jpg',
      'blue/1.png',
      'green/linked.jpg',
    ]);
    expect(data.labels).toEqual(['blue', 'green']);
    // readdir's order is the file system's: compare as sets.
    expect([...data.skipped].sort((a, b) => a.path.localeCompare(b.path))).toEqual([
      { path: 'green/.DS_Store', reason: 'hidden' },
      { path: 'green/broken.jpg', reason: 'broken symbolic link' },
      { path: 'green/loop', reason: 'link to a folder already walked (a loop or a duplicate)' },
    ]);
    expect(skippedNote(data)).toMatch(/^skipped 3 entries: .*green\/broken\.jpg \(broken symbolic link\)/);
    expect((await data.read(2)).width).toBe(16);
  });

  it("size 'original' keeps each image at its own size (the notebook's ORB reads them so)", async () => {
    const dir = await makeImageFolder(3, ['x']);
    const data = await directoryDataset(dir, { size: 'original' });
    expect(data.imageSize).toBeUndefined();
    const sizes = await Promise.all(
      [0, 1, 2].map(async (i) => (({ width, height, channels }) => [width, height, channels])(await data.read(i))),
    );
    expect(sizes).toEqual([
      [60, 48, 3],
      [67, 53, 3],
      [74, 58, 3],
    ]);
    await expect(directoryDataset(dir, { size: 0 })).rejects.toThrow(/positive integer or 'original'/);
  });

  it('reads palette PNGs as RGB', async () => {
    const dir = await makeImageFolder(1, ['p']);
    const sharp = (await import('sharp')).default;
    const { writeFile } = await import('node:fs/promises');
    await writeFile(
      `${dir}/p/palette.png`,
      await sharp({ create: { width: 20, height: 10, channels: 3, background: '#3366cc' } })
        .png({ palette: true })
        .toBuffer(),
    );
    const data = await directoryDataset(dir, { size: 8 });
    const i = Array.from({ length: data.size }, (_, k) => data.entry(k).id).indexOf('p/palette.png');
    const img = await data.read(i);
    expect(img.channels).toBe(3);
    expect(Math.abs(img.data[2] - 0xcc)).toBeLessThanOrEqual(2);
  });

  it('rejects a missing folder, a file and an empty folder with clear errors', async () => {
    await expect(directoryDataset('/nonexistent', { size: 32 })).rejects.toThrow(/cannot read \/nonexistent/);
    const dir = await makeImageFolder(1, ['a']);
    await expect(directoryDataset(`${dir}/README.md`, { size: 32 })).rejects.toThrow(/is a file, not a folder/);
    await expect(directoryDataset(dir, { size: 0 })).rejects.toBeInstanceOf(CbirError);
  });
});
