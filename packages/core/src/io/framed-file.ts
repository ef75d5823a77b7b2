import { FormatError } from '../errors.js';
import { crc32 } from './crc32.js';

/**
 * The layout every cbir binary file shares (checkpoints, feature files, reducers, indexes): an 8-byte ASCII magic,
 * a format version (u32), the JSON header's length (u32), the JSON header, a body of float32 arrays back to back,
 * and the CRC-32 of everything before it (u32). Little-endian.
 */
export function writeFramed(
  magic: string,
  version: number,
  header: unknown,
  arrays: readonly Float32Array[],
): Uint8Array {
  const parts = framedParts(magic, version, header, arrays);
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * {@link writeFramed}'s bytes as a list of chunks: the prefix and header, a view of each array (no copy), and the
 * checksum, computed chunk by chunk. Write them one after another to make the file without holding it whole in memory.
 * @internal
 */
export function framedParts(
  magic: string,
  version: number,
  header: unknown,
  arrays: readonly Float32Array[],
): Uint8Array[] {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const head = new Uint8Array(16 + json.length);
  const dv = new DataView(head.buffer);
  head.set(new TextEncoder().encode(magic.padEnd(8).slice(0, 8)));
  dv.setUint32(8, version, true);
  dv.setUint32(12, json.length, true);
  head.set(json, 16);
  const parts = [head, ...arrays.map((a) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength))];
  let crc = 0;
  for (const p of parts) crc = crc32(p, crc);
  const tail = new Uint8Array(4);
  new DataView(tail.buffer).setUint32(0, crc, true);
  return [...parts, tail];
}

/** A framed file's parsed header and a reader of its float32 body. */
export interface Framed<H> {
  header: H;
  /** Takes the next `n` float32 values of the body (a copy). */
  take(n: number): Float32Array;
  /** Throws unless the whole body has been taken. */
  end(): void;
}

/**
 * Reads {@link writeFramed}'s bytes, checking the magic, the version, the checksum and (through `take`/`end`) the sizes.
 *
 * @param what - The reader's name for messages, e.g. `deserializeCheckpoint`.
 * @param hint - How to fix a bad file, appended to every message.
 * @throws {@link FormatError} naming `source` on any mismatch.
 */
export function readFramed<H>(
  bytes: Uint8Array,
  magic: string,
  version: number,
  what: string,
  source: string,
  hint: string,
): Framed<H> {
  const fail = (problem: string): never => {
    throw new FormatError(`${what}: ${source} ${problem}. ${hint}`);
  };
  if (bytes.length < 20 || new TextDecoder().decode(bytes.subarray(0, 8)) !== magic.padEnd(8).slice(0, 8))
    fail(`is not a ${magic} file (bad magic)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const v = dv.getUint32(8, true);
  if (v !== version) fail(`has format version ${v}; this cbir reads version ${version}`);
  const headerLen = dv.getUint32(12, true);
  const end = bytes.length - 4;
  if (16 + headerLen > end) fail('is truncated');
  if (crc32(bytes.subarray(0, end)) !== dv.getUint32(end, true)) fail('fails its checksum (truncated or corrupted)');
  let header: H;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + headerLen))) as H;
  } catch (e) {
    return fail(`has a header that is not JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header))
    fail('has a header that is not a JSON object');
  let at = 16 + headerLen;
  return {
    header,
    take(n) {
      if (!Number.isSafeInteger(n) || n < 0) fail(`claims ${n} values in a section; expected a count`);
      if (at + n * 4 > end) fail('is truncated');
      // Uint8Array.prototype.slice copies even for a Node Buffer (whose own slice() is a view into a shared pool).
      const a = new Float32Array(Uint8Array.prototype.slice.call(bytes, at, at + n * 4).buffer);
      at += n * 4;
      return a;
    },
    end() {
      if (at !== end) fail(`has ${end - at} unexpected bytes`);
    },
  };
}
