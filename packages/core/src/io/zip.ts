import { FormatError } from '../errors.js';
import { crc32 } from './crc32.js';

/** One file inside a zip archive. */
export interface ZipEntry {
  readonly name: string;
  /** The entry's bytes: a view into the archive, not a copy. */
  readonly data: Uint8Array;
}

const EOCD = 0x06054b50;
const EOCD64_LOCATOR = 0x07064b50;
const EOCD64 = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/**
 * Reads the entries of a zip archive: stored entries (the layout `torch.save` writes) and, given `inflateRaw` (e.g.
 * Node's `zlib.inflateRawSync`; core has no inflater of its own), deflated ones (`numpy.savez_compressed`).
 * Supports zip64. Verifies each entry's CRC-32.
 *
 * @param bytes - The whole archive.
 * @param source - A name for the archive used in error messages (a file path, say).
 * @returns The entries in central-directory order.
 * @throws {@link FormatError} if the bytes are not a zip archive, are truncated, use compression, or fail a CRC.
 */
export function readZip(bytes: Uint8Array, source = 'zip archive', inflateRaw?: (data: Uint8Array) => Uint8Array): ZipEntry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (what: string): never => {
    throw new FormatError(`readZip: ${source} ${what}. Expected a zip archive as torch.save writes it.`);
  };
  if (bytes.length < 22) fail(`is ${bytes.length} bytes long, too short for a zip archive`);
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 0xffff); i--) {
    if (view.getUint32(i, true) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) fail('has no end-of-central-directory record (not a zip archive, or truncated)');
  let count = view.getUint16(eocd + 10, true);
  let cdOffset = view.getUint32(eocd + 16, true);
  if ((count === 0xffff || cdOffset === 0xffffffff) && eocd >= 20 && view.getUint32(eocd - 20, true) === EOCD64_LOCATOR) {
    const at = Number(view.getBigUint64(eocd - 20 + 8, true));
    if (at + 56 > bytes.length || view.getUint32(at, true) !== EOCD64) fail('has a broken zip64 end record');
    count = Number(view.getBigUint64(at + 32, true));
    cdOffset = Number(view.getBigUint64(at + 48, true));
  }
  const entries: ZipEntry[] = [];
  let p = cdOffset;
  const decoder = new TextDecoder();
  for (let n = 0; n < count; n++) {
    if (p + 46 > bytes.length || view.getUint32(p, true) !== CENTRAL) fail(`has a broken central directory at byte ${p}`);
    const method = view.getUint16(p + 10, true);
    const crc = view.getUint32(p + 16, true);
    let size = view.getUint32(p + 24, true);
    let usize = view.getUint32(p + 20, true);
    const nameLen = view.getUint16(p + 28, true);
    const extraLen = view.getUint16(p + 30, true);
    const commentLen = view.getUint16(p + 32, true);
    let local = view.getUint32(p + 42, true);
    const name = decoder.decode(bytes.subarray(p + 46, p + 46 + nameLen));
    // zip64 extended information: the 0xffffffff fields appear in the extra field in a fixed order.
    let e = p + 46 + nameLen;
    const extraEnd = e + extraLen;
    while (e + 4 <= extraEnd) {
      const id = view.getUint16(e, true);
      const len = view.getUint16(e + 2, true);
      if (id === 0x0001) {
        let q = e + 4;
        if (size === 0xffffffff) (size = Number(view.getBigUint64(q, true))), (q += 8);
        if (usize === 0xffffffff) (usize = Number(view.getBigUint64(q, true))), (q += 8);
        if (local === 0xffffffff) local = Number(view.getBigUint64(q, true));
      }
      e += 4 + len;
    }
    if (method !== 0 && !(method === 8 && inflateRaw)) fail(`entry "${name}" is compressed (method ${method}); only stored entries are read${method === 8 ? ' unless an inflateRaw function is given' : ''}`);
    if (local + 30 > bytes.length || view.getUint32(local, true) !== LOCAL) fail(`entry "${name}" has a broken local header`);
    const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    if (start + size > bytes.length) fail(`is truncated: entry "${name}" needs bytes up to ${start + size}, the file has ${bytes.length}`);
    const raw = bytes.subarray(start, start + size);
    const data = method === 8 ? inflateRaw!(raw) : raw;
    if (crc32(data) !== crc) fail(`entry "${name}" fails its CRC-32 check (corrupted)`);
    entries.push({ name, data });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** True when `bytes` starts like a zip archive (a local file header). */
export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}
