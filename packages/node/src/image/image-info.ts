import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { stat } from 'node:fs/promises';
import { CbirError, throwIfAborted, type ImageInfo, type LongRunning } from 'cbir-core';
import type Exifr from 'exifr';
import sharp from 'sharp';
import { readWholeFile } from '../io/read-file.js';

// Through require: exifr's package has no "exports", so Node's ES module loader takes its UMD build, which has no named
// exports; its own ES module build cannot load node:fs by itself (it logs "Couldn't load fs" and reads nothing).
export const exifr = createRequire(import.meta.url)('exifr') as typeof Exifr;

/** The EXIF tags {@link readImageInfo} asks exifr for (it then skips the rest of the block). */
const EXIF_TAGS = ['Make', 'Model', 'Orientation', 'DateTimeOriginal', 'CreateDate', 'GPSLatitude', 'GPSLongitude'];

/**
 * What cbir keeps of an image file besides its pixels (see {@link cbir-core!ImageInfo | ImageInfo}): pixel size
 * and orientation from the header (sharp), size and modification time from the file system, SHA-256 of the bytes, and
 * when, with what and whether where it was taken from EXIF (exifr). A file with no EXIF, or EXIF exifr cannot parse,
 * has none of the EXIF fields; a date EXIF writes as `0000:00:00 00:00:00` is left out.
 *
 * @throws {@link cbir-core!CbirError | CbirError} IMAGE_DECODE naming the file when it is missing or its header is not an
 * image's.
 * @example
 * ```ts
 * const info = await readImageInfo('photos/beach/1.jpg');
 * // { width: 384, height: 256, bytes: 30512, mtime: '2024-06-01T12:00:00.000Z', hash: 'e3b0…', taken: …, make: 'Canon' }
 * ```
 */
export async function readImageInfo(path: string): Promise<ImageInfo> {
  const [bytes, st] = await Promise.all([readWholeFile(path), stat(path)]).catch((e: Error) => {
    throw new CbirError('IMAGE_DECODE', `readImageInfo: cannot read ${path} (${e.message}).`, { cause: e });
  });
  const meta = await sharp(bytes)
    .metadata()
    .catch((e: Error) => {
      throw new CbirError('IMAGE_DECODE', `readImageInfo: ${path} is not an image sharp can read (${e.message}).`, {
        cause: e,
      });
    });
  const info: ImageInfo = {
    ...(meta.width ? { width: meta.width } : {}),
    ...(meta.height ? { height: meta.height } : {}),
    bytes: st.size,
    mtime: new Date(Math.floor(st.mtimeMs)).toISOString(),
    hash: createHash('sha256').update(bytes).digest('hex'),
  };
  if (meta.orientation !== undefined && meta.orientation >= 1 && meta.orientation <= 8)
    info.orientation = meta.orientation;
  if (!meta.exif) return info;
  let exif: Record<string, unknown> | undefined;
  try {
    // Raw values: exifr would turn EXIF's zone-less dates into this machine's local time.
    exif = (await exifr.parse(bytes, { pick: EXIF_TAGS, reviveValues: false, translateValues: false })) ?? undefined;
  } catch {
    exif = undefined; // EXIF exifr cannot parse counts as none (the header fields above stand)
  }
  if (!exif) return info;
  const taken = exifDate(exif.DateTimeOriginal) ?? exifDate(exif.CreateDate);
  if (taken) info.taken = taken;
  const make = exifText(exif.Make);
  if (make) info.make = make;
  const model = exifText(exif.Model);
  if (model) info.model = model;
  info.gps = exif.GPSLatitude != null && exif.GPSLongitude != null;
  return info;
}

/** EXIF's `YYYY:MM:DD HH:MM:SS` (optionally with a fraction or zone, as some writers add) as a UTC ISO instant. */
function exifDate(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const m = /^(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})/.exec(v.trim());
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(ms);
  // 0000:00:00 and impossible dates (February 30th) are left out rather than rolled over.
  if (y < 1800 || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59)
    return undefined;
  return back.toISOString();
}

function exifText(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  // Trailing NULs and padding are common in camera strings.
  const t = v.replace(/\0/g, '').trim();
  return t ? t.slice(0, 256) : undefined;
}

/**
 * {@link readImageInfo} for many files, a few at a time, in order; a file that cannot be read gets `undefined` (and is
 * reported by the extraction that skips it).
 *
 * @example
 * ```ts
 * const info = await readImageInfos(paths, { onProgress: (p) => bar.update(p.done / p.total) });
 * ```
 */
export async function readImageInfos(
  paths: readonly string[],
  options: LongRunning & { concurrency?: number } = {},
): Promise<(ImageInfo | undefined)[]> {
  const out = new Array<ImageInfo | undefined>(paths.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < paths.length) {
      throwIfAborted(options.signal, 'readImageInfos');
      const i = next++;
      out[i] = await readImageInfo(paths[i]).catch(() => undefined);
      done++;
      options.onProgress?.({ stage: 'metadata', done, total: paths.length });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 8) }, worker));
  return out;
}
