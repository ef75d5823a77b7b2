import { CbirError } from '../errors.js';

/** A pair of duplicates among `files`, `a < b`, with its score in the method's unit (keypoints agreeing, or bits apart). */
export interface ScoredDuplicate {
  a: number;
  b: number;
  score: number;
}

/** One copy in a {@link DuplicateGroup}: what the keeper rule read of it. */
export interface DuplicateMember {
  /** Path relative to the report's `root`, with `/` separators. */
  file: string;
  width: number;
  height: number;
  /** The file's size in bytes. */
  bytes: number;
  exifFields: number;
  /** When it was taken (EXIF), else its modification time, in ms since 1970. */
  time: number;
}

/** A group of copies of one photo: the copy to keep first, then the others (the ones `--move-to` moves). */
export interface DuplicateGroup {
  members: DuplicateMember[];
}

/**
 * The groups of duplicates of a folder, with the copy to keep of each: what `cbir dedup --report FILE` writes and
 * `cbir serve --duplicates FILE` shows for review.
 */
export interface DuplicateReport {
  format: 'cbir-duplicates';
  version: 1;
  /** The folder, as an absolute path: members are relative to it. */
  root: string;
  /** How the duplicates were found: `orb` or a hash (`phash`, ...). */
  method: string;
  /** Keypoints agreeing at least (orb), or bits apart at most (hashes). */
  threshold: number;
  /** The keeper rule, in words. */
  rule: string;
  /** Images examined. */
  images: number;
  groups: DuplicateGroup[];
}

/** The most groups, and members of one group, a report may hold (bounds on what a hostile file can make cbir allocate). */
export const MAX_REPORT_GROUPS = 10_000_000;

/**
 * Each file's duplicates, imagededup's `find_duplicates` shape: `{ file: [duplicate, ...] }` for every file (an empty
 * list when it has none), best first (the highest score, or with `lowerIsBetter` the lowest), then by name; with
 * `scores`, each duplicate as `[file, score]`.
 *
 * @example
 * ```ts
 * duplicatesByFile(['a.jpg', 'b.jpg', 'c.jpg'], [{ a: 0, b: 2, score: 3 }], { lowerIsBetter: true });
 * // { 'a.jpg': ['c.jpg'], 'b.jpg': [], 'c.jpg': ['a.jpg'] }
 * ```
 */
export function duplicatesByFile(
  files: readonly string[],
  pairs: readonly ScoredDuplicate[],
  options: { scores?: boolean; lowerIsBetter?: boolean } = {},
): Record<string, string[] | [string, number][]> {
  const sign = options.lowerIsBetter ? -1 : 1;
  const scored: [string, number][][] = files.map(() => []);
  for (const { a, b, score } of pairs) {
    scored[a].push([files[b], score]);
    scored[b].push([files[a], score]);
  }
  const out: Record<string, string[] | [string, number][]> = Object.create(null);
  files.forEach((f, i) => {
    const list = scored[i].sort((x, y) => sign * (y[1] - x[1]) || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
    out[f] = options.scores ? list : list.map(([g]) => g);
  });
  return out;
}

/** A relative path that stays inside its root: no leading `/` or drive, no `..` segment, no NUL. */
function inside(file: string): boolean {
  return (
    file.length > 0 &&
    file.length <= 4096 &&
    !/^([/\\]|[A-Za-z]:)/.test(file) &&
    !file.includes('\0') &&
    !file.split(/[/\\]/).includes('..')
  );
}

/**
 * Reads a duplicate report (the JSON `cbir dedup --report FILE` writes), checking every field and bounding every
 * count, so that a hand-edited or hostile file is refused with the first thing wrong in it rather than half-shown.
 *
 * @param where - Names the file in errors.
 * @throws {@link CbirError} FORMAT naming the file and the first bad field.
 * @example
 * ```ts
 * const report = parseDuplicateReport(await readFile('dups.json', 'utf8'), 'dups.json');
 * report.groups[0].members[0].file;   // the copy to keep of the first group
 * ```
 */
export function parseDuplicateReport(text: string, where: string): DuplicateReport {
  const bad = (why: string) =>
    new CbirError(
      'FORMAT',
      `${where}: not a cbir duplicate report (${why}). Write one with cbir dedup --data DIR --report FILE.`,
    );
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw bad(`not JSON: ${(e as Error).message}`);
  }
  const v = value as Partial<DuplicateReport> | null;
  if (!v || typeof v !== 'object' || v.format !== 'cbir-duplicates')
    throw bad('expected { format: "cbir-duplicates", ... }');
  if (v.version !== 1) throw bad(`version ${String(v.version)}; this cbir reads version 1`);
  const count = (x: unknown) => Number.isInteger(x) && (x as number) >= 0 && (x as number) <= Number.MAX_SAFE_INTEGER;
  for (const key of ['root', 'method', 'rule'] as const)
    if (typeof v[key] !== 'string' || v[key].length > 4096) throw bad(`"${key}" is not a string`);
  if (!count(v.threshold)) throw bad('"threshold" is not a whole number');
  if (!count(v.images)) throw bad('"images" is not a whole number');
  if (!Array.isArray(v.groups) || v.groups.length > MAX_REPORT_GROUPS)
    throw bad(`"groups" is not a list of at most ${MAX_REPORT_GROUPS}`);
  const groups = v.groups.map((g: Partial<DuplicateGroup> | null, i): DuplicateGroup => {
    if (!g || !Array.isArray(g.members) || g.members.length < 2 || g.members.length > (v.images as number))
      throw bad(`group ${i} does not list 2 to "images" members`);
    return {
      members: g.members.map((m: Partial<DuplicateMember> | null, j) => {
        const ok =
          m &&
          typeof m.file === 'string' &&
          inside(m.file) &&
          count(m.width) &&
          count(m.height) &&
          count(m.bytes) &&
          count(m.exifFields) &&
          Number.isFinite(m.time);
        if (!ok)
          throw bad(
            `member ${j} of group ${i} is not { file: a relative path inside root, width, height, bytes, exifFields: whole numbers, time: ms }`,
          );
        return {
          file: m.file!,
          width: m.width!,
          height: m.height!,
          bytes: m.bytes!,
          exifFields: m.exifFields!,
          time: m.time!,
        };
      }),
    };
  });
  return {
    format: 'cbir-duplicates',
    version: 1,
    root: v.root!,
    method: v.method!,
    threshold: v.threshold!,
    rule: v.rule!,
    images: v.images!,
    groups,
  };
}
