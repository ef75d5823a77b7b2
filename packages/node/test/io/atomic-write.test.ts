import { mkdtemp, readFile, readdir } from 'node:fs/promises';
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
});
