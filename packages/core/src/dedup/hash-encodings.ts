import { CbirError } from '../errors.js';
import { HASH_METHODS, type HashMethod } from './image-hashes.js';

/** A file's hash with what it was computed from: the file's size and modification time, to tell when it changed. */
export interface HashEncoding {
  hash: string;
  size: number;
  mtimeMs: number;
}

/** Saved hashes of a folder (`cbir dedup --encodings FILE`): new images are checked without re-reading the old ones. */
export interface HashEncodings {
  method: HashMethod;
  /** By path relative to the folder. */
  files: Record<string, HashEncoding>;
}

/** The most entries an encodings file may hold (a bound on what a hostile file can make cbir allocate). */
export const MAX_ENCODINGS = 10_000_000;

/**
 * Reads saved hash encodings (the JSON `cbir dedup --encodings` writes), checking every entry: the method is one of
 * imagededup's, each hash 16 hex characters, each size and time a finite number >= 0.
 *
 * @param where - Names the file in errors.
 * @throws {@link CbirError} FORMAT naming the file and the first bad entry.
 * @example
 * ```ts
 * const saved = parseHashEncodings(await readFile('photos.hashes.json', 'utf8'), 'photos.hashes.json');
 * saved.files['2019/a.jpg'].hash;   // '8f373714acfcf4d0'
 * ```
 */
export function parseHashEncodings(text: string, where: string): HashEncodings {
  const bad = (why: string) =>
    new CbirError(
      'FORMAT',
      `${where}: not cbir hash encodings (${why}). Delete it to hash the folder afresh, or pass another --encodings file.`,
    );
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw bad(`not JSON: ${(e as Error).message}`);
  }
  const v = value as Partial<HashEncodings> | null;
  if (!v || typeof v !== 'object' || !HASH_METHODS.includes(v.method as HashMethod))
    throw bad(`expected { method: ${HASH_METHODS.join(' | ')}, files: {...} }`);
  if (!v.files || typeof v.files !== 'object' || Array.isArray(v.files)) throw bad('"files" is not an object');
  const entries = Object.entries(v.files);
  if (entries.length > MAX_ENCODINGS) throw bad(`${entries.length} entries, more than ${MAX_ENCODINGS}`);
  const files: Record<string, HashEncoding> = Object.create(null);
  for (const [file, e] of entries) {
    const ok =
      e &&
      typeof e.hash === 'string' &&
      /^[0-9a-f]{16}$/.test(e.hash) &&
      Number.isFinite(e.size) &&
      e.size >= 0 &&
      Number.isFinite(e.mtimeMs) &&
      e.mtimeMs >= 0;
    if (!ok) throw bad(`entry "${file}" is not { hash: 16 hex characters, size, mtimeMs }`);
    files[file] = { hash: e.hash, size: e.size, mtimeMs: e.mtimeMs };
  }
  return { method: v.method as HashMethod, files };
}
