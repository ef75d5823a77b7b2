import { describe, expect, it } from 'vitest';
import { CbirError, duplicatesByFile, parseDuplicateReport, type DuplicateReport } from 'cbir-core';
import { Rng } from '../../src/utils/rng.js';

const member = (file: string, width = 40, height = 30) => ({
  file,
  width,
  height,
  bytes: 1000,
  exifFields: 0,
  time: 1.7e12,
});
const report: DuplicateReport = {
  format: 'cbir-duplicates',
  version: 1,
  root: '/photos',
  method: 'orb',
  threshold: 20,
  rule: 'most pixels, then largest file, then most EXIF fields, then oldest',
  images: 5,
  groups: [{ members: [member('2019/a.jpg', 80, 60), member('b.jpg')] }],
};

describe('duplicatesByFile', () => {
  it("lists every file with its duplicates, best first then by name: imagededup's find_duplicates shape", () => {
    const files = ['a', 'b', 'c', 'd'];
    const pairs = [
      { a: 0, b: 2, score: 30 },
      { a: 0, b: 1, score: 30 },
      { a: 0, b: 3, score: 50 },
    ];
    expect(duplicatesByFile(files, pairs)).toEqual({ a: ['d', 'b', 'c'], b: ['a'], c: ['a'], d: ['a'] });
    expect(duplicatesByFile(files, pairs, { lowerIsBetter: true, scores: true })).toEqual({
      a: [
        ['b', 30],
        ['c', 30],
        ['d', 50],
      ],
      b: [['a', 30]],
      c: [['a', 30]],
      d: [['a', 50]],
    });
  });

  it('equals a brute-force listing on seeded random pairs, a file named __proto__ included', () => {
    const rng = new Rng(35);
    const rand = () => rng.next();
    const files = Array.from({ length: 30 }, (_, i) => (i === 7 ? '__proto__' : `f${i}.jpg`));
    const pairs: { a: number; b: number; score: number }[] = [];
    for (let a = 0; a < files.length; a++)
      for (let b = a + 1; b < files.length; b++) if (rand() < 0.1) pairs.push({ a, b, score: Math.floor(rand() * 5) });
    const got = duplicatesByFile(files, pairs, { scores: true });
    expect(Object.keys(got)).toEqual(files);
    for (let i = 0; i < files.length; i++) {
      const want = pairs
        .filter((p) => p.a === i || p.b === i)
        .map((p) => [files[p.a === i ? p.b : p.a], p.score] as [string, number])
        .sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1));
      expect(got[files[i]]).toEqual(want);
    }
  });
});

describe('parseDuplicateReport', () => {
  it('reads what cbir dedup --report writes', () => {
    expect(parseDuplicateReport(JSON.stringify(report), 'r.json')).toEqual(report);
  });

  it('refuses anything else, naming the file and the first bad field; no path may leave the root', () => {
    const withMembers = (members: unknown[]) => JSON.stringify({ ...report, groups: [{ members }] });
    const cases: [string, RegExp][] = [
      ['{', /r\.json: not a cbir duplicate report \(not JSON/],
      ['[]', /expected \{ format: "cbir-duplicates"/],
      [JSON.stringify({ ...report, version: 2 }), /version 2; this cbir reads version 1/],
      [JSON.stringify({ ...report, threshold: -1 }), /"threshold" is not a whole number/],
      [JSON.stringify({ ...report, root: 5 }), /"root" is not a string/],
      [JSON.stringify({ ...report, groups: {} }), /"groups" is not a list/],
      [withMembers([member('a.jpg')]), /group 0 does not list 2 to "images" members/],
      [withMembers(Array.from({ length: 6 }, (_, i) => member(`${i}.jpg`))), /group 0 does not list 2/],
      [withMembers([member('a.jpg'), member('../etc/passwd')]), /member 1 of group 0 is not \{ file: a relative path/],
      [withMembers([member('/etc/passwd'), member('a.jpg')]), /member 0 of group 0/],
      [withMembers([member('C:\\x.jpg'), member('a.jpg')]), /member 0 of group 0/],
      [withMembers([member('a/..\\..\\x.jpg'), member('a.jpg')]), /member 0 of group 0/],
      [withMembers([member('a.jpg'), { ...member('b.jpg'), width: 1.5 }]), /member 1 of group 0/],
      [withMembers([member('a.jpg'), { ...member('b.jpg'), time: null }]), /member 1 of group 0/],
    ];
    for (const [text, message] of cases) {
      expect(() => parseDuplicateReport(text, 'r.json')).toThrow(CbirError);
      expect(() => parseDuplicateReport(text, 'r.json')).toThrow(message);
    }
  });
});
