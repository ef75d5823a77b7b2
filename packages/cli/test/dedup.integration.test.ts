import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cbir, cbirResult, lastJson, root } from './helpers.js';

// cbir dedup on the dedup fixtures, against imagededup's own find_duplicates (fixtures/dedup/duplicates-t10.json,
// made by make-fixtures.py with imagededup's code).
const fixtures = join(root, 'packages/node/test/fixtures/dedup');
const want = JSON.parse(await readFile(join(fixtures, 'duplicates-t10.json'), 'utf8')) as Record<
  string,
  Record<string, string[]>
>;

describe('cbir dedup', () => {
  it("prints, and writes with --out, each file's duplicates as imagededup finds them", async () => {
    const out = await mkdtemp(join(tmpdir(), 'cbir-dedup-'));
    try {
      for (const method of ['phash', 'whash']) {
        const file = join(out, `${method}.json`);
        const { stdout } = await cbir(
          'dedup',
          '--data',
          join(fixtures, 'images'),
          '--method',
          method,
          '--json',
          '--out',
          file,
        );
        expect(lastJson(stdout)).toEqual(want[method]);
        expect(JSON.parse(await readFile(file, 'utf8'))).toEqual(want[method]);
      }
      const { stdout } = await cbir('dedup', '--data', join(fixtures, 'images'));
      expect(stdout).toMatch(/^1 group of duplicates \(5 of 22 images, 10 pairs within 10 bits, phash\)/m);
    } finally {
      await rm(out, { recursive: true });
    }
  });

  it('refuses a bad method or threshold with exit code 2, naming the value', async () => {
    const bad = await cbirResult('dedup', '--data', fixtures, '--max-distance', '65');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--max-distance must be a whole number of bits from 0 to 64, got "65"/);
    const method = await cbirResult('dedup', '--data', fixtures, '--method', 'md5');
    expect(method.code).toBe(2);
    expect(method.stderr).toMatch(/--method must be one of phash, dhash, ahash, whash, got "md5"/);
  });
});
