import { copyFile, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { CbirError, throwIfAborted, type LongRunning } from 'cbir-core';

/** What {@link moveFiles} did, or would do on a dry run. */
export interface MoveReport {
  /** Files moved (or, on a dry run, to move), relative to `root`. */
  moved: string[];
  /** Files already at their destination from an earlier, interrupted run (their source was then removed). */
  finished: string[];
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function sameBytes(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([stat(a), stat(b)]);
  if (x.size !== y.size) return false;
  return Buffer.compare(await readFile(a), await readFile(b)) === 0;
}

/** Moves one file, atomically where the destination is: rename, or across file systems copy, sync, rename, unlink. */
async function moveOne(from: string, to: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  try {
    await rename(from, to);
    return;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
  }
  const partial = `${to}.cbir-partial`;
  await copyFile(from, partial);
  const handle = await open(partial, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(partial, to);
  await unlink(from);
}

/**
 * Moves files out of a folder into another, keeping their paths relative to `root` (so names cannot collide), never
 * deleting anything: each move is a rename, or across file systems a copy that is synced and renamed into place before
 * the original is unlinked. A dry run by default (`apply: false`): it only says what it would move. Resumable: run
 * again after an interruption, a file whose copy is already at its destination with the same bytes is finished
 * (its original removed), and the others move; a different file already at a destination stops the run, naming both,
 * before anything of it is touched.
 *
 * @param files - Paths relative to `root`.
 * @throws {@link cbir-core!CbirError | CbirError} INVALID_ARGUMENT when `to` is inside `root` or a path leaves
 *   `root`, or when a destination holds a different file; `AbortedError` at `signal` (between files).
 * @example
 * ```ts
 * const plan = await moveFiles('photos', ['2019/IMG_1 copy.jpg'], 'duplicates');            // dry run
 * await moveFiles('photos', ['2019/IMG_1 copy.jpg'], 'duplicates', { apply: true });         // photos/2019/... -> duplicates/2019/...
 * ```
 */
export async function moveFiles(
  root: string,
  files: readonly string[],
  to: string,
  options: LongRunning & { apply?: boolean } = {},
): Promise<MoveReport> {
  const base = resolve(root);
  const dest = resolve(to);
  if (dest === base || dest.startsWith(base + sep))
    throw new CbirError(
      'INVALID_ARGUMENT',
      `moveFiles: the destination ${dest} is inside the folder ${base}; choose a folder outside it, or the moved files would be found again.`,
    );
  const report: MoveReport = { moved: [], finished: [] };
  let done = 0;
  for (const file of files) {
    throwIfAborted(options.signal, 'moveFiles');
    const from = resolve(base, file);
    const rel = relative(base, from);
    if (rel.startsWith('..') || isAbsolute(rel))
      throw new CbirError('INVALID_ARGUMENT', `moveFiles: ${file} is not inside ${base}.`);
    const target = join(dest, rel);
    const [hasFrom, hasTarget] = await Promise.all([exists(from), exists(target)]);
    if (hasTarget) {
      if (!hasFrom) {
        report.finished.push(rel); // moved by an earlier run
      } else if (await sameBytes(from, target)) {
        if (options.apply) await unlink(from); // an earlier run copied it and stopped before removing the original
        report.finished.push(rel);
      } else {
        throw new CbirError(
          'INVALID_ARGUMENT',
          `moveFiles: ${target} already exists and is not a copy of ${from}; nothing was moved over it. Move it away or choose another destination.`,
        );
      }
    } else if (!hasFrom) {
      throw new CbirError('INVALID_ARGUMENT', `moveFiles: ${from} does not exist (nor its copy at ${target}).`);
    } else {
      if (options.apply) await moveOne(from, target);
      report.moved.push(rel);
    }
    options.onProgress?.({ stage: 'dedup', done: ++done, total: files.length });
  }
  return report;
}
