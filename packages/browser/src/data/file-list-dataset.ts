import { CbirError, type ImageDataset } from 'cbir-core';
import { canvasDecoder, type CanvasDecoderOptions } from '../image/canvas-decoder.js';

const IMAGE = /\.(jpe?g|png|webp|gif|bmp|avif)$/i;

/** An {@link ImageDataset} over browser files, with the labels it found. */
export interface FileListDataset extends ImageDataset {
  /** The distinct labels, sorted. */
  readonly labels: string[];
  /** The files, in dataset order (ids are their relative paths). */
  readonly files: File[];
}

/**
 * A dataset over files picked in a page (`<input type="file" webkitdirectory multiple>` or a drop): images only
 * (by extension), sorted by path; an image's label is its first folder inside the picked folder (as cbir-node's
 * `directoryDataset` labels by sub-folder). Decoding happens on `read`, with {@link canvasDecoder}.
 *
 * @example
 * ```ts
 * const data = fileListDataset(input.files!, { size: 64 });
 * await trainAutoencoder(new ConvAutoencoderV2({ inputSize: 64 }), data, { epochs: 1 });
 * ```
 */
export function fileListDataset(
  files: Iterable<File> | ArrayLike<File>,
  options: CanvasDecoderOptions,
): FileListDataset {
  const path = (f: File) => (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name;
  const list = Array.from(files as ArrayLike<File>)
    .filter((f) => IMAGE.test(f.name))
    .sort((a, b) => path(a).localeCompare(path(b)));
  if (!list.length)
    throw new CbirError(
      'INVALID_ARGUMENT',
      'fileListDataset: no image files (jpg, png, webp, gif, bmp, avif) among the files given.',
    );
  const labelOf = (f: File) => {
    const parts = path(f).split('/');
    return parts.length > 2 ? parts[1] : undefined; // "picked/label/name.jpg"
  };
  const decoder = canvasDecoder(options);
  return {
    size: list.length,
    imageSize: options.size,
    files: list,
    labels: [...new Set(list.map(labelOf).filter((l): l is string => l !== undefined))].sort(),
    entry: (i) => ({ id: path(list[i]), label: labelOf(list[i]) }),
    read: (i) => decoder.decode(list[i]),
  };
}
