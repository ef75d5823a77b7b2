import { readFile, stat } from 'node:fs/promises';
import { CbirError, type FileFacts } from 'cbir-core';
import sharp from 'sharp';
import { exifr } from '../image/image-info.js';

/**
 * What the keeper rule (`chooseKeeper`) reads of an image file: its pixel count (from the header, as stored), size,
 * number of EXIF fields and when it was taken (EXIF DateTimeOriginal, else the file's modification time). EXIF is read
 * with exifr; a file without EXIF, or with EXIF exifr cannot parse, has 0 fields.
 *
 * @throws {@link cbir-core!CbirError | CbirError} IMAGE_DECODE, naming the file, when its header cannot be read.
 * @example
 * ```ts
 * const facts = await Promise.all(group.map((f) => fileFacts(f)));
 * const keep = group[chooseKeeper(facts)];
 * ```
 */
export async function fileFacts(path: string): Promise<FileFacts> {
  const [info, meta] = await Promise.all([stat(path), sharp(path).metadata()]).catch((e: Error) => {
    throw new CbirError('IMAGE_DECODE', `fileFacts: cannot read ${path} as an image (${e.message}).`, { cause: e });
  });
  let exif: Record<string, unknown> | undefined;
  try {
    const bytes = meta.exif ? await readFile(path) : undefined;
    exif = bytes ? ((await exifr.parse(bytes, { tiff: true, exif: true, gps: true })) ?? undefined) : undefined;
  } catch {
    exif = undefined; // EXIF that does not parse counts as none: the rule then falls to the next criterion
  }
  const taken = exif?.DateTimeOriginal;
  return {
    pixels: (meta.width ?? 0) * (meta.height ?? 0),
    width: meta.width ?? 0,
    height: meta.height ?? 0,
    bytes: info.size,
    exifFields: exif ? Object.keys(exif).length : 0,
    time: taken instanceof Date && !Number.isNaN(taken.getTime()) ? taken.getTime() : info.mtimeMs,
  };
}
