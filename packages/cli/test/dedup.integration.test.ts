import { cp, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDuplicateReport } from 'cbir-core';
import { loadFeatures } from 'cbir-node';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { cbir, cbirResult, lastJson, root } from './helpers.js';

// cbir dedup on the dedup fixtures, against imagededup's own find_duplicates (fixtures/dedup/duplicates-t10.json,
// made by make-fixtures.py with imagededup's code).
const fixtures = join(root, 'packages/node/test/fixtures/dedup');
const want = JSON.parse(await readFile(join(fixtures, 'duplicates-t10.json'), 'utf8')) as Record<
  string,
  Record<string, string[]>
>;

const hashes = JSON.parse(await readFile(join(fixtures, 'hashes.json'), 'utf8')) as Record<
  string,
  Record<string, string>
>;

describe('cbir hash', () => {
  it("prints { file: hex } with imagededup's hash strings for every file", async () => {
    for (const method of ['phash', 'dhash', 'ahash', 'whash']) {
      const { stdout } = await cbir('hash', '--data', join(fixtures, 'images'), '--method', method, '--json');
      expect(lastJson(stdout)).toEqual(hashes[method]);
    }
  });
});

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
        // imagededup's lists are in its search's order (the fixture sorts them); cbir's are best first.
        const sorted = (m: Record<string, string[]>) =>
          Object.fromEntries(Object.entries(m).map(([k, v]) => [k, [...v].sort()]));
        expect(sorted(lastJson(stdout))).toEqual(want[method]);
        expect(sorted(JSON.parse(await readFile(file, 'utf8')))).toEqual(want[method]);
      }
      const { stdout } = await cbir('dedup', '--data', join(fixtures, 'images'), '--method', 'phash');
      expect(stdout).toMatch(/^1 group of duplicates \(5 of 22 images, 10 pairs within 10 bits, phash\)/m);
    } finally {
      await rm(out, { recursive: true });
    }
  });

  it('by default (keypoints) also finds the flipped and the cropped copy, with scores best first', async () => {
    const { stdout } = await cbir('dedup', '--data', join(fixtures, 'images'), '--json', '--scores');
    const got = lastJson(stdout) as Record<string, [string, number][]>;
    // The phash group above misses these two; keypoints find them, and nothing outside the copies.
    const names = (f: string) => got[f].map(([g]) => g);
    expect(names('copy-original.png')).toEqual(
      expect.arrayContaining(['copy-flipped.png', 'copy-cropped.png', 'copy-brighter.png', 'copy-q40.jpg']),
    );
    for (const [f, dups] of Object.entries(got)) {
      if (!f.startsWith('copy-')) expect(dups).toEqual([]);
      for (const [g, score] of dups) {
        expect(g.startsWith('copy-')).toBe(true);
        expect(score).toBeGreaterThanOrEqual(20);
        expect(got[g].some(([h, s]) => h === f && s === score)).toBe(true);
      }
      expect(dups.map(([, s]) => s)).toEqual(dups.map(([, s]) => s).sort((x, y) => y - x));
    }
  });

  it('--method vector: the pairs of the features within the cosine threshold, as a comparison of every pair finds', async () => {
    const out = await mkdtemp(join(tmpdir(), 'cbir-dedup-vector-'));
    try {
      const features = join(out, 'f.cbirfeat');
      await cbir('features', '--data', join(fixtures, 'images'), '--kind', 'fused', '--out', features);
      const { matrix, ids } = await loadFeatures(features);
      // The oracle: cosine distances in float64, every pair.
      const row = (i: number) => matrix.data.subarray(i * matrix.cols, (i + 1) * matrix.cols);
      const cosine = (i: number, j: number) => {
        let [dot, a, b] = [0, 0, 0];
        for (let c = 0; c < matrix.cols; c++) {
          dot += row(i)[c] * row(j)[c];
          a += row(i)[c] ** 2;
          b += row(j)[c] ** 2;
        }
        return 1 - dot / Math.sqrt(a * b);
      };
      const threshold = 0.1;
      const want: Record<string, string[]> = Object.fromEntries(ids.map((f) => [f, []]));
      for (let i = 0; i < ids.length; i++)
        for (let j = 0; j < ids.length; j++) if (i !== j && cosine(i, j) <= threshold) want[ids[i]].push(ids[j]);
      const args = ['dedup', '--data', join(fixtures, 'images'), '--method', 'vector', '--features', features];
      const { stdout } = await cbir(...args, '--threshold', String(threshold), '--json', '--scores');
      const got = lastJson(stdout) as Record<string, [string, number][]>;
      expect(Object.fromEntries(Object.entries(got).map(([f, d]) => [f, d.map(([g]) => g).sort()]))).toEqual(
        Object.fromEntries(Object.entries(want).map(([f, d]) => [f, d.sort()])),
      );
      expect(Object.values(want).some((d) => d.length > 0)).toBe(true);
      for (const [f, dups] of Object.entries(got))
        for (const [g, d] of dups) expect(d).toBeCloseTo(cosine(ids.indexOf(f), ids.indexOf(g)), 5);
      const missing = await cbirResult('dedup', '--data', join(fixtures, 'images'), '--method', 'vector');
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/--method vector needs --features FILE/);
      const far = await cbirResult(...args, '--threshold', '3');
      expect(far.stderr).toMatch(/--threshold for vector is a cosine distance from 0 to 2, got "3"/);
    } finally {
      await rm(out, { recursive: true });
    }
  });

  it('names the copy to keep in each group, and --move-to moves the others only with --apply', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cbir-dedup-move-'));
    try {
      await cp(join(fixtures, 'images'), join(dir, 'photos'), { recursive: true });
      const args = ['dedup', '--data', join(dir, 'photos'), '--method', 'phash', '--move-to', join(dir, 'dups')];
      const dry = await cbir(...args, '--report', join(dir, 'report.json'));
      // The phash group of five: the full-size PNG original is kept (most pixels, then the largest file).
      expect(dry.stdout).toMatch(/^keep {2}copy-original\.png {2}\(/m);
      expect(dry.stderr).toMatch(/dry run: 4 files would move to .*dups; add --apply/);
      expect(await readdir(join(dir, 'photos'))).toHaveLength(22);
      // --report: the same group for cbir serve --duplicates, each copy with what the rule read of it.
      const report = parseDuplicateReport(await readFile(join(dir, 'report.json'), 'utf8'), 'report.json');
      expect(report).toMatchObject({ root: join(dir, 'photos'), method: 'phash', threshold: 10, images: 22 });
      expect(report.groups).toHaveLength(1);
      const members = report.groups[0].members;
      expect(members.map((m) => m.file)).toEqual([
        'copy-original.png',
        ...['copy-brighter.png', 'copy-cropped.png', 'copy-q40.jpg', 'copy-resized.png'],
      ]);
      for (const m of members) {
        const meta = await sharp(join(dir, 'photos', m.file)).metadata();
        expect([m.width, m.height, m.bytes]).toEqual([
          meta.width,
          meta.height,
          (await stat(join(dir, 'photos', m.file))).size,
        ]);
      }
      const applied = await cbir(...args, '--apply');
      expect(applied.stderr).toMatch(/moved 4 files to .*dups/);
      expect((await readdir(join(dir, 'dups'))).sort()).toEqual([
        'copy-brighter.png',
        'copy-cropped.png',
        'copy-q40.jpg',
        'copy-resized.png',
      ]);
      expect(await readdir(join(dir, 'photos'))).toContain('copy-original.png');
      const inside = await cbirResult('dedup', '--data', join(dir, 'photos'), '--move-to', join(dir, 'photos/d'));
      expect(inside.code).toBe(2);
      expect(inside.stderr).toMatch(/--move-to .* is inside --data/);
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  it("--encodings hashes only new or changed files on the next run, and refuses another method's file", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cbir-dedup-enc-'));
    try {
      await cp(join(fixtures, 'images'), join(dir, 'photos'), { recursive: true });
      const enc = join(dir, 'phash.json');
      const args = ['dedup', '--data', join(dir, 'photos'), '--method', 'phash', '--json', '--encodings', enc];
      const first = await cbir(...args);
      expect(first.stderr).toMatch(/hashed 22 images; 0 from/);
      expect(lastJson(first.stdout)).toEqual(
        Object.fromEntries(Object.entries(want.phash).map(([k, v]) => [k, expect.arrayContaining(v)])),
      );
      const saved = JSON.parse(await readFile(enc, 'utf8'));
      expect(
        Object.fromEntries(Object.entries(saved.files).map(([k, v]) => [k, (v as { hash: string }).hash])),
      ).toEqual(hashes.phash);
      const again = await cbir(...args);
      expect(again.stderr).toMatch(/hashed 0 images; 22 from/);
      expect(lastJson(again.stdout)).toEqual(lastJson(first.stdout));
      await cp(join(dir, 'photos/copy-original.png'), join(dir, 'photos/new.png'));
      expect((await cbir(...args)).stderr).toMatch(/hashed 1 images; 22 from/);
      const other = await cbirResult('dedup', '--data', join(dir, 'photos'), '--method', 'dhash', '--encodings', enc);
      expect(other.code).toBe(1);
      expect(other.stderr).toMatch(/holds phash hashes, not dhash/);
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  it('refuses a bad method or threshold with exit code 2, naming the value', async () => {
    const bad = await cbirResult('dedup', '--data', fixtures, '--method', 'phash', '--threshold', '65');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--threshold for a hash is a whole number of bits from 0 to 64, got "65"/);
    const orb = await cbirResult('dedup', '--data', fixtures, '--threshold', 'many');
    expect(orb.code).toBe(2);
    expect(orb.stderr).toMatch(/--threshold for orb is a whole number of keypoints, 4 or more, got "many"/);
    const method = await cbirResult('dedup', '--data', fixtures, '--method', 'md5');
    expect(method.code).toBe(2);
    expect(method.stderr).toMatch(/--method must be one of orb, phash, dhash, ahash, whash, vector, got "md5"/);
  });
});
