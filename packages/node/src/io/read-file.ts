import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';

/** Bytes read per call: below Node's 2 GiB limit for one read. */
const CHUNK = 1 << 30;

/**
 * Reads a whole file into one Uint8Array, also past the 2 GiB that `fs.readFile` refuses (the notebook's
 * `features.pkl` of 4,738 float64 latents of 65,536 values is 2.5 GB), up to the 4 GiB a typed array holds in Node 20.
 *
 * @throws the file system's error (ENOENT, EISDIR, ...) or a RangeError past 4 GiB.
 *
 * @example
 * ```ts
 * const bytes = await readWholeFile('features.pkl');
 * ```
 */
export async function readWholeFile(path: string): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    if (size > 2 ** 32) throw new RangeError(`${path} is ${size} bytes; cbir reads files of at most 4 GiB at once.`);
    const bytes = new Uint8Array(size);
    for (let at = 0; at < size;) {
      const { bytesRead } = await handle.read(bytes, at, Math.min(CHUNK, size - at), at);
      if (bytesRead === 0)
        throw new RangeError(`${path} ended after ${at} of ${size} bytes (it changed while being read).`);
      at += bytesRead;
    }
    return bytes;
  } finally {
    await handle.close();
  }
}

/**
 * {@link readWholeFile}, synchronously: for callers that cannot await (usearch writes its graph to a file inside
 * `HnswIndex.serialize`).
 *
 * @example
 * ```ts
 * const bytes = readWholeFileSync('graph.usearch');
 * ```
 */
export function readWholeFileSync(path: string): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const { size } = fstatSync(fd);
    if (size > 2 ** 32) throw new RangeError(`${path} is ${size} bytes; cbir reads files of at most 4 GiB at once.`);
    const bytes = new Uint8Array(size);
    for (let at = 0; at < size;) {
      const read = readSync(fd, bytes, at, Math.min(CHUNK, size - at), at);
      if (read === 0) throw new RangeError(`${path} ended after ${at} of ${size} bytes (it changed while being read).`);
      at += read;
    }
    return bytes;
  } finally {
    closeSync(fd);
  }
}
