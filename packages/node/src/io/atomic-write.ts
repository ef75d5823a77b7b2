import { randomBytes } from 'node:crypto';
import { open, readdir, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Writes `bytes` to `path` atomically: to a temporary file beside it, flushed to disk, then renamed over `path`.
 * A crash leaves either the old file or the new one, never a half-written file. `bytes` may be a list of chunks,
 * written one after another (a large file need not be one buffer in memory).
 *
 * @example
 * ```ts
 * await writeFileAtomic('out/index.bin', bytes);   // a crash leaves the old file or the new one
 * ```
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array | readonly Uint8Array[]): Promise<void> {
  try {
    await removeStaleTemps(path);
    // The writer's pid is in the name, so that a later writer can tell a killed writer's leftover from a live one's.
    const tmp = `${path}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`;
    const handle = await open(tmp, 'w');
    try {
      if (bytes instanceof Uint8Array) await handle.writeFile(bytes);
      else for (const chunk of bytes) await writeAll(handle, chunk);
      await handle.sync();
    } catch (e) {
      await handle.close();
      await rm(tmp, { force: true });
      throw e;
    }
    await handle.close();
    await rename(tmp, path).catch(async (e) => {
      await rm(tmp, { force: true });
      throw e;
    });
  } catch (e) {
    // Errors name the file the caller asked for, not the temporary one.
    if (e && typeof e === 'object' && typeof (e as NodeJS.ErrnoException).code === 'string')
      (e as NodeJS.ErrnoException).path = path;
    throw e;
  }
}

/**
 * Writes all of `chunk`: `FileHandle.write` may write less than asked (a disk filling up writes what fits and reports
 * ENOSPC only on the next call), so it is called again from where it stopped; it returned short without an error
 * before this loop, and a full disk then left a truncated file behind a successful write.
 */
async function writeAll(handle: FileHandle, chunk: Uint8Array): Promise<void> {
  for (let at = 0; at < chunk.length;) {
    const { bytesWritten } = await handle.write(chunk, at, chunk.length - at);
    if (bytesWritten <= 0)
      throw Object.assign(new Error(`EIO: the file system took no bytes of a write`), { code: 'EIO' });
    at += bytesWritten;
  }
}

/** Temporary files of `path` left by writers that no longer run (killed mid-write), removed; live writers' are kept. */
async function removeStaleTemps(path: string): Promise<void> {
  const name = basename(path);
  const entries = await readdir(dirname(path)).catch(() => [] as string[]);
  for (const e of entries) {
    const m = e.startsWith(`${name}.`) ? /^(\d+)-[0-9a-f]{12}\.tmp$/.exec(e.slice(name.length + 1)) : null;
    if (!m || alive(Number(m[1]))) continue;
    await rm(join(dirname(path), e), { force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
