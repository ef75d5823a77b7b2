import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileAtomic } from 'cbir-node';

describe('writeFileAtomic', () => {
  it('replaces the file and leaves no temporary file behind', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cbir-'));
    const path = join(dir, 'a.bin');
    await writeFileAtomic(path, Uint8Array.from([1, 2, 3]));
    await writeFileAtomic(path, Uint8Array.from([4, 5]));
    expect(Array.from(await readFile(path))).toEqual([4, 5]);
    expect(await readdir(dir)).toEqual(['a.bin']);
  });

  it('fails without touching the target when the folder does not exist', async () => {
    await expect(writeFileAtomic('/nonexistent-dir/x.bin', new Uint8Array(1))).rejects.toThrow(/ENOENT/);
  });

  it("removes a killed writer's temporary file on the next write, and keeps a live writer's", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cbir-'));
    const path = join(dir, 'a.bin');
    // A pid that has exited (a child that ran and ended) and one that is alive (this process).
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    await writeFile(join(dir, `a.bin.${dead}-0123456789ab.tmp`), 'half');
    await writeFile(join(dir, `a.bin.${process.pid}-ba9876543210.tmp`), 'in progress');
    await writeFile(join(dir, 'b.bin.1-0123456789ab.tmp'), 'another file'); // not a.bin's
    await writeFileAtomic(path, Uint8Array.from([1]));
    expect((await readdir(dir)).sort()).toEqual([
      'a.bin',
      `a.bin.${process.pid}-ba9876543210.tmp`,
      'b.bin.1-0123456789ab.tmp',
    ]);
  });
});
