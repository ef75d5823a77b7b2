import { CbirError } from '../errors.js';

/** What the keeper rule reads of a file (cbir-node's `fileFacts` reads it from disk). */
export interface FileFacts {
  /** Width times height. */
  pixels: number;
  /** Width in pixels, as stored, for reports (the rule reads `pixels`); absent when not read. */
  width?: number;
  /** Height in pixels, as stored, for reports; absent when not read. */
  height?: number;
  /** The file's size in bytes. */
  bytes: number;
  /** How many EXIF fields the file carries (a camera's original keeps them; a re-saved copy often loses them). */
  exifFields: number;
  /** When the photo was taken (EXIF DateTimeOriginal) or, without it, the file's modification time, in ms since 1970. */
  time: number;
}

/** The rule {@link chooseKeeper} applies, in words (for reports). */
export const KEEPER_RULE = 'most pixels, then largest file, then most EXIF fields, then oldest';

/**
 * The groups of duplicates: the connected components of the duplicate pairs, each with two members or more, members
 * in increasing order, groups ordered by their first member.
 *
 * @throws {@link CbirError} INVALID_ARGUMENT for a pair naming an item outside `0..n-1`.
 * @example
 * ```ts
 * duplicateGroups(5, [{ a: 0, b: 3 }, { a: 3, b: 4 }]);   // [[0, 3, 4]]
 * ```
 */
export function duplicateGroups(n: number, pairs: readonly { a: number; b: number }[]): number[][] {
  const parent = Array.from({ length: n }, (_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]];
    return i;
  };
  for (const { a, b } of pairs) {
    if (!(Number.isInteger(a) && Number.isInteger(b) && a >= 0 && b >= 0 && a < n && b < n))
      throw new CbirError('INVALID_ARGUMENT', `duplicateGroups: pair (${a}, ${b}) names an item outside 0..${n - 1}.`);
    const [ra, rb] = [find(a), find(b)];
    if (ra !== rb) parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }
  const groups = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const r = find(i);
    const g = groups.get(r);
    if (g) g.push(i);
    else groups.set(r, [i]);
  }
  return [...groups.values()].filter((g) => g.length > 1).sort((x, y) => x[0] - y[0]);
}

/**
 * Which copy of a group to keep: the one with the most pixels, then the largest file, then the most EXIF fields, then
 * the oldest (the first among full ties). The others are the ones to move away.
 *
 * @returns The index of the keeper in `facts`.
 * @throws {@link CbirError} INVALID_ARGUMENT for an empty group.
 * @example
 * ```ts
 * chooseKeeper([
 *   { pixels: 960 * 640, bytes: 90_000, exifFields: 0, time: 1_700_000_000_000 },
 *   { pixels: 1920 * 1280, bytes: 400_000, exifFields: 42, time: 1_600_000_000_000 },
 * ]);   // 1
 * ```
 */
export function chooseKeeper(facts: readonly FileFacts[]): number {
  if (facts.length === 0) throw new CbirError('INVALID_ARGUMENT', 'chooseKeeper: the group is empty.');
  let best = 0;
  for (let i = 1; i < facts.length; i++) {
    const [x, y] = [facts[i], facts[best]];
    const better =
      x.pixels !== y.pixels
        ? x.pixels > y.pixels
        : x.bytes !== y.bytes
          ? x.bytes > y.bytes
          : x.exifFields !== y.exifFields
            ? x.exifFields > y.exifFields
            : x.time < y.time;
    if (better) best = i;
  }
  return best;
}
