import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CbirError,
  directoryDataset,
  duplicateReport,
  duplicatesByFile,
  findDuplicates,
  type DirectoryDataset,
} from 'cbir-node';

// findDuplicates on the dedup fixtures against imagededup's own find_duplicates (fixtures/dedup/duplicates-t10.json,
// made by make-fixtures.py with imagededup's code), and its encodings: a second run reads only new or changed files.
const fixtures = join(import.meta.dirname, '../fixtures/dedup');
const want = JSON.parse(await readFile(join(fixtures, 'duplicates-t10.json'), 'utf8')) as Record<
  string,
  Record<string, string[]>
>;
const sorted = (m: Record<string, string[]>) =>
  Object.fromEntries(Object.entries(m).map(([k, v]) => [k, [...v].sort()]));

/** The folder's dataset, recording which files are decoded. */
async function counted(dir: string): Promise<{ data: DirectoryDataset; read: string[] }> {
  const data = await directoryDataset(dir, { size: 'original', orient: false });
  const read: string[] = [];
  const wrapped: DirectoryDataset = Object.create(data, {
    read: { value: (i: number) => (read.push(data.entry(i).id), data.read(i)) },
  });
  return { data: wrapped, read };
}

describe('findDuplicates', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cbir-find-dups-'));
    await cp(join(fixtures, 'images'), join(dir, 'photos'), { recursive: true });
  });
  afterAll(() => rm(dir, { recursive: true }));

  it("with encodings, equals imagededup's find_duplicates and then reads only new or changed files", async () => {
    const enc = join(dir, 'phash.json');
    const first = await counted(join(dir, 'photos'));
    const found = await findDuplicates(first.data, { method: 'phash', encodings: enc });
    expect(first.read).toHaveLength(22);
    expect(found.reused).toBe(0);
    expect(sorted(duplicatesByFile(found.files, found.pairs) as Record<string, string[]>)).toEqual(want.phash);
    for (const { score } of found.pairs) expect(score).toBeLessThanOrEqual(10);

    await cp(join(dir, 'photos/copy-original.png'), join(dir, 'photos/new.png'));
    const second = await counted(join(dir, 'photos'));
    const again = await findDuplicates(second.data, { method: 'phash', encodings: enc });
    expect(second.read).toEqual(['new.png']);
    expect(again.reused).toBe(22);
    const byFile = duplicatesByFile(again.files, again.pairs) as Record<string, string[]>;
    // The new file is an exact copy: the original's duplicates plus the original, and it is theirs.
    expect([...byFile['new.png']].sort()).toEqual([...want.phash['copy-original.png'], 'copy-original.png'].sort());
    for (const f of byFile['new.png']) expect(byFile[f]).toContain('new.png');

    const report = await duplicateReport(again);
    expect(report.groups).toHaveLength(1);
    expect(report.groups[0].members.map((m) => m.file).sort()).toEqual(
      ['new.png', 'copy-original.png', ...want.phash['copy-original.png']].sort(),
    );
    // Two byte-identical copies at the most pixels: the keeper is one of them.
    expect(['copy-original.png', 'new.png']).toContain(report.groups[0].members[0].file);
  });

  it('refuses a bad method, threshold or encodings file, naming it', async () => {
    const photos = join(dir, 'photos');
    await expect(findDuplicates(photos, { method: 'md5' as 'orb' })).rejects.toThrow(/method must be one of orb/);
    await expect(findDuplicates(photos, { method: 'dhash', threshold: 65 })).rejects.toThrow(/from 0 to 64, got 65/);
    await expect(findDuplicates(photos, { threshold: 2 })).rejects.toThrow(/4 or more, got 2/);
    await expect(findDuplicates(photos, { encodings: join(dir, 'x.json') })).rejects.toThrow(/encodings keep hashes/);
    await writeFile(join(dir, 'bad.json'), '{"method": "phash", "files": []}');
    await expect(findDuplicates(photos, { method: 'phash', encodings: join(dir, 'bad.json') })).rejects.toThrow(
      CbirError,
    );
    await expect(findDuplicates(photos, { method: 'dhash', encodings: join(dir, 'phash.json') })).rejects.toThrow(
      /holds phash hashes, not dhash/,
    );
  });
});
