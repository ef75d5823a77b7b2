import { readdir, realpath, stat } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';
import { CbirError, type DatasetEntry, type ImageDataset, type RawImage } from 'cbir-core';
import { sharpDecoder, type Fit } from '../image/sharp-decoder.js';

/** File extensions read as images (case-insensitive). */
export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif', '.bmp'] as const;

/** Options of {@link directoryDataset}. */
export interface DirectoryDatasetOptions {
  /**
   * Side of the square images produced (resized with sharp's Lanczos-3 kernel); `'original'` keeps each image at its
   * own size (for features that take any size, as the notebook's ORB does).
   */
  size: number | 'original';
  /** How non-square images are fitted. @defaultValue 'cover' */
  fit?: Fit;
  /** Turn images upright by their EXIF orientation (`orient` of {@link sharpDecoder}; off, pixels as stored, as Pillow reads them). @defaultValue true */
  orient?: boolean;
}

/** An {@link ImageDataset} over a folder, plus what the walk found. */
export interface DirectoryDataset extends ImageDataset {
  /** The folder, as given. */
  readonly root: string;
  /** Absolute path of item `i`. */
  path(i: number): string;
  /** Files that were not taken as images (by extension), relative to the root. */
  readonly ignored: readonly string[];
  /**
   * Entries the walk did not enter or take, relative to the root, and why: hidden names, broken links, links back
   * into a folder already walked (a loop), anything neither a file nor a folder.
   */
  readonly skipped: readonly { path: string; reason: string }[];
  /** The distinct labels, sorted. */
  readonly labels: readonly string[];
}

/**
 * Collects the files under `dir`, following symbolic links to files and folders; a folder is entered once (by its
 * real path), so a link back up the tree cannot loop. What is not taken goes to `skipped` with the reason.
 */
async function walk(
  dir: string,
  out: string[],
  skipped: { path: string; reason: string }[],
  seen: Set<string>,
): Promise<void> {
  seen.add(await realpath(dir));
  // Names as bytes: a name that is not UTF-8 would come back as text with U+FFFD in it, a path that does not exist.
  const entries = await readdir(dir, { withFileTypes: true, encoding: 'buffer' });
  for (const e of entries) {
    const name = e.name.toString('utf8');
    if (!Buffer.from(name, 'utf8').equals(e.name)) {
      skipped.push({
        path: join(dir, escapeBytes(e.name)),
        reason: `its name is not valid UTF-8: cbir records paths as text and could not open it again; rename it (convmv -f latin1 -t utf8 -r --notest DIR renames a tree of Latin-1 names)`,
      });
      continue;
    }
    const p = join(dir, name);
    if (name.startsWith('.')) {
      skipped.push({ path: p, reason: 'hidden' });
      continue;
    }
    let kind: 'file' | 'dir' | 'other' = e.isDirectory() ? 'dir' : e.isFile() ? 'file' : 'other';
    if (e.isSymbolicLink()) {
      const target = await stat(p).catch(() => undefined);
      if (!target) {
        skipped.push({ path: p, reason: 'broken symbolic link' });
        continue;
      }
      kind = target.isDirectory() ? 'dir' : target.isFile() ? 'file' : 'other';
    }
    if (kind === 'dir') {
      if (seen.has(await realpath(p)))
        skipped.push({ path: p, reason: 'link to a folder already walked (a loop or a duplicate)' });
      else await walk(p, out, skipped, seen);
    } else if (kind === 'file') out.push(p);
    else skipped.push({ path: p, reason: 'neither a file nor a folder' });
  }
}

/** A file name's bytes as text: printable ASCII as is, every other byte as \xNN (what `ls -b` shows). */
function escapeBytes(name: Buffer): string {
  return [...name]
    .map((b) =>
      b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`,
    )
    .join('');
}

/**
 * A dataset over a folder of images, walked recursively and sorted by path. An item's label is the name of the first
 * sub-folder under the root (none for files at the root); its id is its path relative to the root, with `/`. Images
 * are decoded only when read (never the whole folder in memory), converted to 3-channel sRGB whatever they were
 * (grayscale, alpha, palette, CMYK, 16-bit) and resized to `size` x `size` by `fit`: the same pipeline for training,
 * embedding and queries.
 *
 * A file that does not decode throws `ImageDecodeError` when read: trainers and embedders report it and skip it.
 *
 * @throws {@link cbir-core!CbirError | CbirError} if `dir` is not a readable folder or holds no images.
 *
 * @example
 * ```ts
 * const data = await directoryDataset('photos/', { size: 128 });
 * console.log(data.size, data.labels);     // 1000 ['africa', 'beach', ...]
 * const image = await data.read(0);        // RawImage, 128x128x3
 * ```
 */
export async function directoryDataset(dir: string, options: DirectoryDatasetOptions): Promise<DirectoryDataset> {
  const { size, fit = 'cover', orient = true } = options;
  if (size !== 'original' && (!Number.isInteger(size) || size < 1)) {
    throw new CbirError(
      'INVALID_ARGUMENT',
      `directoryDataset: size must be a positive integer or 'original', got ${size}.`,
    );
  }
  const info = await stat(dir).catch((cause) => {
    throw new CbirError(
      'INVALID_ARGUMENT',
      `directoryDataset: cannot read ${dir} (${(cause as Error).message}). Pass a folder of images.`,
      { cause },
    );
  });
  if (!info.isDirectory())
    throw new CbirError(
      'INVALID_ARGUMENT',
      `directoryDataset: ${dir} is a file, not a folder. Pass a folder of images.`,
    );
  const files: string[] = [];
  const skipped: { path: string; reason: string }[] = [];
  await walk(dir, files, skipped, new Set());
  files.sort();
  const images: string[] = [];
  const ignored: string[] = [];
  for (const f of files)
    ((IMAGE_EXTENSIONS as readonly string[]).includes(extname(f).toLowerCase()) ? images : ignored).push(f);
  if (images.length === 0) {
    throw new CbirError(
      'INVALID_ARGUMENT',
      `directoryDataset: ${dir} holds no images (looked for ${IMAGE_EXTENSIONS.join(', ')}, recursively).`,
    );
  }
  const entries: DatasetEntry[] = images.map((p) => {
    const rel = relative(dir, p).split(sep);
    return { id: rel.join('/'), label: rel.length > 1 ? rel[0] : undefined };
  });
  const decoder = sharpDecoder({ size: size === 'original' ? undefined : size, fit, orient });
  return {
    root: dir,
    size: images.length,
    imageSize: size === 'original' ? undefined : size,
    ignored: ignored.map((p) => relative(dir, p).split(sep).join('/')),
    skipped: skipped.map(({ path, reason }) => ({ path: relative(dir, path).split(sep).join('/'), reason })),
    labels: [...new Set(entries.map((e) => e.label).filter((l): l is string => l !== undefined))].sort(),
    entry: (i) => entries[i],
    path: (i) => images[i],
    read: (i): Promise<RawImage> => decoder.decode(images[i]),
  };
}

/**
 * One line naming what a folder walk skipped and why, or '' when it skipped nothing: for commands to print, so that
 * nothing is left out without a word.
 *
 * @example
 * ```ts
 * const note = skippedNote(data);
 * if (note) process.stderr.write(`${note}\n`);
 * ```
 */
export function skippedNote(data: Pick<DirectoryDataset, 'skipped'>): string {
  if (data.skipped.length === 0) return '';
  return `skipped ${data.skipped.length} entr${data.skipped.length === 1 ? 'y' : 'ies'}: ${data.skipped.map((s) => `${s.path} (${s.reason})`).join(', ')}`;
}
