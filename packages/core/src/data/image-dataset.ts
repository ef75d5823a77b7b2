import type { RawImage } from '../image/raw-image.js';

/** What a dataset says about one item before decoding it. */
export interface DatasetEntry {
  /** A stable identifier, e.g. the path relative to the dataset's folder. */
  id: string;
  /** The class label, e.g. the sub-folder's name, when there is one. */
  label?: string;
}

/**
 * A random-access collection of images, decoded on demand (so a folder is never held in memory). Platform packages
 * implement it (`directoryDataset` in cbir-node, `fileListDataset` in cbir-browser); {@link arrayDataset} wraps images
 * already in memory.
 */
export interface ImageDataset {
  /** Number of items. */
  readonly size: number;
  /** Side of the square RGB images {@link ImageDataset.read} returns; undefined when each keeps its own size. */
  readonly imageSize: number | undefined;
  /** Item `i`'s id and label, without decoding it. */
  entry(i: number): DatasetEntry;
  /**
   * Decodes item `i` to a `imageSize` x `imageSize` RGB image.
   * @throws {@link ImageDecodeError} when the file is not a readable image (callers report and skip it).
   */
  read(i: number): Promise<RawImage>;
}

/**
 * An {@link ImageDataset} over images already in memory, all `imageSize` x `imageSize` RGB.
 *
 * @example
 * ```ts
 * const data = arrayDataset(64, [{ id: 'a', image: { data, width: 64, height: 64, channels: 3 }, label: 'cat' }]);
 * ```
 */
export function arrayDataset(
  imageSize: number,
  items: readonly { id: string; image: RawImage; label?: string }[],
): ImageDataset {
  return {
    size: items.length,
    imageSize,
    entry: (i) => ({ id: items[i].id, label: items[i].label }),
    read: async (i) => items[i].image,
  };
}
