import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';

/**
 * Writes `bytes` to `path` atomically: to a temporary file beside it, flushed to disk, then renamed over `path`.
 * A crash leaves either the old file or the new one, never a half-written file.
 *
 * @example
 * ```ts
 * await writeFileAtomic('out/index.bin', bytes);   // a crash leaves the old file or the new one
 * ```
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } catch (e) {
    await handle.close();
    await rm(tmp, { force: true });
    throw e;
  }
  await handle.close();
  await rename(tmp, path);
}
