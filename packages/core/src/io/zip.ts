import { inflateSync } from 'fflate';
import { CbirError, FormatError } from '../errors.js';
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
 * Reads the entries of a zip archive: stored entries (the layout `torch.save` writes) and deflated ones
 * (`numpy.savez_compressed`, inflated by fflate, which runs in browsers too). Supports zip64. Verifies each entry's
 * sizes and CRC-32.
 *
 * @param bytes - The whole archive.
 * @param source - A name for the archive used in error messages (a file path, say).
 * @returns The entries in central-directory order.
 * @throws {@link FormatError} if the bytes are not a zip archive, are truncated, use a method other than stored or
 *   deflate, inflate to another size than the directory says, or fail a CRC.
 *
 * @example
 * ```ts
 * for (const { name, data } of readZip(await readFile('planes.npz'), 'planes.npz')) console.log(name, data.length);
 * ```
 */
export function readZip(bytes: Uint8Array, source = 'zip archive'): ZipEntry[] {
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
  // The end record's redundant fields must agree: one disk, as many entries on it as in all, a comment that ends the file.
  if (
    view.getUint16(eocd + 4, true) !== 0 ||
    view.getUint16(eocd + 6, true) !== 0 ||
    view.getUint16(eocd + 8, true) !== view.getUint16(eocd + 10, true)
  ) {
    fail('has an end record for a multi-disk archive, or a corrupted one');
  }
  if (eocd + 22 + view.getUint16(eocd + 20, true) !== bytes.length)
    fail('has an end record whose comment length does not match the file (truncated or corrupted)');
  let count = view.getUint16(eocd + 10, true);
  let cdOffset = view.getUint32(eocd + 16, true);
  let cdSize = view.getUint32(eocd + 12, true);
  if (
    (count === 0xffff || cdOffset === 0xffffffff) &&
    eocd >= 20 &&
    view.getUint32(eocd - 20, true) === EOCD64_LOCATOR
  ) {
    const at = Number(view.getBigUint64(eocd - 20 + 8, true));
    if (at + 56 > bytes.length || view.getUint32(at, true) !== EOCD64) fail('has a broken zip64 end record');
    count = Number(view.getBigUint64(at + 32, true));
    cdSize = Number(view.getBigUint64(at + 40, true));
    cdOffset = Number(view.getBigUint64(at + 48, true));
  }
  const entries: ZipEntry[] = [];
  /** Where each entry's bytes lie (local header to the end of its data), to check that nothing lies between them. */
  const spans: { from: number; to: number; name: string }[] = [];
  let p = cdOffset;
  const decoder = new TextDecoder();
  for (let n = 0; n < count; n++) {
    if (p + 46 > bytes.length || view.getUint32(p, true) !== CENTRAL)
      fail(`has a broken central directory at byte ${p}`);
    const method = view.getUint16(p + 10, true);
    const crc = view.getUint32(p + 16, true);
    // The central directory holds the compressed size at offset 20 and the uncompressed size at 24.
    let size = view.getUint32(p + 20, true);
    let usize = view.getUint32(p + 24, true);
    const nameLen = view.getUint16(p + 28, true);
    const extraLen = view.getUint16(p + 30, true);
    const commentLen = view.getUint16(p + 32, true);
    let local = view.getUint32(p + 42, true);
    if (view.getUint16(p + 34, true) !== 0) fail(`has a central directory entry on another disk (corrupted)`);
    const name = decoder.decode(bytes.subarray(p + 46, p + 46 + nameLen));
    // Nothing is extracted, but a name that would climb out of a folder or start at the root is a hostile archive.
    if (/^[/\\]|^[A-Za-z]:|(^|[/\\])\.\.([/\\]|$)|\0/.test(name))
      fail(
        `has an entry named "${name.slice(0, 200)}", an absolute path or one with "..": refused, as a hostile archive`,
      );
    // zip64 extended information: the 0xffffffff fields appear in the extra field in a fixed order.
    let e = p + 46 + nameLen;
    const extraEnd = e + extraLen;
    while (e + 4 <= extraEnd) {
      const id = view.getUint16(e, true);
      const len = view.getUint16(e + 2, true);
      if (id === 0x0001) {
        // In the zip64 record the uncompressed size comes first, then the compressed size.
        let q = e + 4;
        if (usize === 0xffffffff) ((usize = Number(view.getBigUint64(q, true))), (q += 8));
        if (size === 0xffffffff) ((size = Number(view.getBigUint64(q, true))), (q += 8));
        if (local === 0xffffffff) local = Number(view.getBigUint64(q, true));
      }
      e += 4 + len;
    }
    if (e !== extraEnd) fail(`entry "${name}" has a malformed extra field in its directory entry (corrupted)`);
    if (method !== 0 && method !== 8)
      fail(`entry "${name}" uses compression method ${method}; only stored (0) and deflate (8) entries are read`);
    if (method === 0 && usize !== size)
      fail(`entry "${name}" is stored but its sizes differ (${size} and ${usize} bytes)`);
    // Every allocation is bounded by the file: deflate expands at most 1032 times.
    if (method === 8 && usize > size * 1032 + 64)
      fail(`entry "${name}" claims ${usize} bytes from ${size} compressed, more than deflate can produce`);
    if (local + 30 > bytes.length || view.getUint32(local, true) !== LOCAL)
      fail(`entry "${name}" has a broken local header`);
    // The local header repeats the directory's fields (version, flags, method, time, date, CRC, sizes, name): they
    // must agree, so that no byte of it can change unnoticed. With flag bit 3 (a data descriptor) the local CRC and
    // sizes are zero; zip64 entries keep theirs in the extra field.
    const flags = view.getUint16(local + 6, true);
    const descriptor = (flags & 8) !== 0;
    for (const [lo, co, what] of [
      [4, 6, 'version'],
      [6, 8, 'flags'],
      [8, 10, 'method'],
      [10, 12, 'time'],
      [12, 14, 'date'],
      [26, 28, 'name length'],
    ] as const) {
      if (view.getUint16(local + lo, true) !== view.getUint16(p + co, true))
        fail(`entry "${name}" has a local header whose ${what} differs from its directory entry (corrupted)`);
    }
    if (!descriptor) {
      for (const [lo, co, what] of [
        [14, 16, 'CRC-32'],
        [18, 20, 'compressed size'],
        [22, 24, 'size'],
      ] as const) {
        if (view.getUint32(local + lo, true) !== view.getUint32(p + co, true))
          fail(`entry "${name}" has a local header whose ${what} differs from its directory entry (corrupted)`);
      }
    }
    for (let i = 0; i < nameLen; i++)
      if (bytes[local + 30 + i] !== bytes[p + 46 + i])
        fail(`entry "${name}" has another name in its local header (corrupted)`);
    const localExtra = local + 30 + nameLen;
    const start = localExtra + view.getUint16(local + 28, true);
    if (start + size > bytes.length)
      fail(`is truncated: entry "${name}" needs bytes up to ${start + size}, the file has ${bytes.length}`);
    checkLocalExtra(bytes, view, localExtra, start, name, fail);
    spans.push({ from: local, to: start + size + (descriptor ? descriptorLength(view, start + size) : 0), name });
    const raw = bytes.subarray(start, start + size);
    const data = method === 8 ? inflate(raw, usize, name, fail) : raw;
    if (crc32(data) !== crc) fail(`entry "${name}" fails its CRC-32 check (corrupted)`);
    entries.push({ name, data });
    p += 46 + nameLen + extraLen + commentLen;
  }
  if (p - cdOffset !== cdSize)
    fail(`has a central directory of ${p - cdOffset} bytes; its end record says ${cdSize} (corrupted)`);
  // Every byte belongs to an entry, the directory or the end records: a byte between them, which no checksum covers,
  // could change unnoticed.
  spans.sort((a, b) => a.from - b.from);
  let at = 0;
  for (const span of spans) {
    if (span.from !== at)
      fail(
        `has ${span.from > at ? `${span.from - at} bytes that belong to no entry` : 'entries that overlap'} before entry "${span.name}" (corrupted or hostile)`,
      );
    at = span.to;
  }
  let endRecords = eocd;
  if (eocd >= 20 && view.getUint32(eocd - 20, true) === EOCD64_LOCATOR) {
    // The zip64 end record (its size field counts the bytes after its first 12) sits right before the locator.
    endRecords = Number(view.getBigUint64(eocd - 20 + 8, true));
    if (
      endRecords + 12 > bytes.length ||
      endRecords + 12 + Number(view.getBigUint64(endRecords + 4, true)) !== eocd - 20
    )
      fail('has a zip64 end record that does not end where its locator begins (corrupted)');
  }
  if (at !== cdOffset || cdOffset + cdSize !== endRecords)
    fail('has bytes between its last entry, its central directory and its end record (corrupted or hostile)');
  return entries;
}

/**
 * The extra fields a local header may hold: zip64 sizes, PyTorch's `FB` padding, Info-ZIP's timestamps and owner,
 * NTFS times. A changed byte in an id turns it into another: unknown ids are refused. (Zip keeps no checksum of its
 * directory: "version made by" and the file attributes, which no reader of cbir's uses, can change unnoticed.)
 */
const EXTRA_IDS = new Set([0x0001, 0x4246, 0x5455, 0x7875, 0x000a]);

/** The length of the data descriptor at `at` (after data whose local header has flag bit 3). */
function descriptorLength(view: DataView, at: number): number {
  return at + 4 <= view.byteLength && view.getUint32(at, true) === 0x08074b50 ? 16 : 12;
}

/**
 * Checks a local header's extra field: records that fill it exactly, and PyTorch's alignment padding (id `FB`) made
 * of `Z`s as torch.save writes it, or of zeros as cbir's writer did: no byte of it can change unnoticed.
 */
function checkLocalExtra(
  bytes: Uint8Array,
  view: DataView,
  from: number,
  to: number,
  name: string,
  fail: (what: string) => never,
): void {
  let e = from;
  while (e + 4 <= to) {
    const id = view.getUint16(e, true);
    const len = view.getUint16(e + 2, true);
    if (e + 4 + len > to) break;
    if (!EXTRA_IDS.has(id))
      fail(`entry "${name}" has an extra field of unknown id 0x${id.toString(16).padStart(4, '0')} (corrupted)`);
    if (id === 0x4246) {
      const pad = bytes.subarray(e + 4, e + 4 + len);
      if (!(pad.every((b) => b === 0x5a) || pad.every((b) => b === 0)))
        fail(`entry "${name}" has alignment padding that is neither Zs nor zeros (corrupted)`);
    }
    e += 4 + len;
  }
  if (e !== to) fail(`entry "${name}" has a malformed extra field in its local header (corrupted)`);
}

/** Inflates a raw deflate stream into exactly `size` bytes. */
function inflate(raw: Uint8Array, size: number, name: string, fail: (what: string) => never): Uint8Array {
  const out = new Uint8Array(size);
  let data: Uint8Array;
  try {
    data = inflateSync(raw, { out });
  } catch (e) {
    return fail(`entry "${name}" is not valid deflate data (${(e as Error).message})`);
  }
  if (data.length !== size) fail(`entry "${name}" inflates to ${data.length} bytes; its directory entry says ${size}`);
  return data;
}

/** True when `bytes` starts like a zip archive (a local file header). */
export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}

/**
 * Writes a zip archive of stored (uncompressed) entries, as `torch.save` does: each entry's data starts at a multiple
 * of `align` bytes (padding in the local header's extra field, id `FB` as PyTorch's writer uses), so a reader may map
 * tensors in place. No timestamps (the DOS date is 1980-01-01), so the same entries give the same bytes.
 *
 * Written by hand rather than with a zip library because it must place data at aligned offsets, which general zip
 * writers do not offer; it is the inverse of {@link readZip} for stored entries.
 *
 * @param entries - Names and bytes, in archive order.
 * @param options - `align`: data alignment in bytes. @defaultValue 64 (PyTorch's)
 * @returns The archive.
 * @throws {@link CbirError} (`INVALID_ARGUMENT`) past 4 GiB (this writer does not emit zip64 records).
 *
 * @example
 * ```ts
 * const zip = writeZip([{ name: 'archive/version', data: new TextEncoder().encode('3\n') }]);
 * readZip(zip)[0].name;   // 'archive/version'
 * ```
 */
export function writeZip(entries: readonly ZipEntry[], options: { align?: number } = {}): Uint8Array {
  const align = options.align ?? 64;
  const encoder = new TextEncoder();
  const names = entries.map((e) => encoder.encode(e.name));
  const layout: { local: number; pad: number; crc: number }[] = [];
  let at = 0;
  entries.forEach((e, i) => {
    const header = 30 + names[i].length;
    // The extra field is at least 4 bytes (its id and length) when padding is needed.
    let pad = (align - ((at + header) % align)) % align;
    if (pad > 0 && pad < 4) pad += align;
    layout.push({ local: at, pad, crc: crc32(e.data) });
    at += header + pad + e.data.length;
  });
  const cdStart = at;
  const cdSize = names.reduce((a, n) => a + 46 + n.length, 0);
  const total = cdStart + cdSize + 22;
  if (total > 0xffffffff || entries.length > 0xffff) {
    throw new CbirError(
      'INVALID_ARGUMENT',
      `writeZip: the archive would be ${total} bytes in ${entries.length} entries; this writer stops at 4 GiB and 65,535 entries.`,
    );
  }
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  const common = (p: number, i: number) => {
    view.setUint16(p, 0, true); // flags
    view.setUint16(p + 2, 0, true); // method: stored
    view.setUint16(p + 4, 0, true); // time
    view.setUint16(p + 6, 0x21, true); // date: 1980-01-01
    view.setUint32(p + 8, layout[i].crc, true);
    view.setUint32(p + 12, entries[i].data.length, true);
    view.setUint32(p + 16, entries[i].data.length, true);
    view.setUint16(p + 20, names[i].length, true);
  };
  entries.forEach((e, i) => {
    const { local, pad } = layout[i];
    view.setUint32(local, LOCAL, true);
    view.setUint16(local + 4, 20, true);
    common(local + 6, i);
    view.setUint16(local + 28, pad, true);
    bytes.set(names[i], local + 30);
    if (pad > 0) {
      view.setUint16(local + 30 + names[i].length, 0x4246, true); // 'FB'
      view.setUint16(local + 32 + names[i].length, pad - 4, true);
    }
    bytes.set(e.data, local + 30 + names[i].length + pad);
  });
  let p = cdStart;
  entries.forEach((_, i) => {
    view.setUint32(p, CENTRAL, true);
    view.setUint16(p + 4, 20, true);
    view.setUint16(p + 6, 20, true);
    common(p + 8, i);
    view.setUint32(p + 42, layout[i].local, true);
    bytes.set(names[i], p + 46);
    p += 46 + names[i].length;
  });
  view.setUint32(p, EOCD, true);
  view.setUint16(p + 8, entries.length, true);
  view.setUint16(p + 10, entries.length, true);
  view.setUint32(p + 12, cdSize, true);
  view.setUint32(p + 16, cdStart, true);
  return bytes;
}
