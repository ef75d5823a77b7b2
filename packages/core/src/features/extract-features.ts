import { CbirError } from '../errors.js';
import type { DatasetEntry, ImageDataset } from '../data/image-dataset.js';
import { readBatches } from '../data/read-batches.js';
import type { RawImage } from '../image/raw-image.js';
import type { Matrix } from '../matrix.js';
import type { LongRunning } from '../progress.js';

/** What {@link mapImages} returns: one value per image that decoded, with its id and label. */
export interface PerImage<T> {
  values: T[];
  ids: string[];
  labels: (string | undefined)[];
  /** Ids of the items that failed to decode and were skipped (each reported as a `warning` event). */
  skipped: string[];
}

/**
 * Applies `fn` to every image of a dataset, decoding in batches (the next batch decodes while `fn` runs). Items that
 * fail to decode are reported and skipped; `signal` stops between batches.
 *
 * @example
 * ```ts
 * const cv = await loadOpenCv();
 * const { values: descriptors, ids } = await mapImages(data, (image) => orbDescriptors(cv, image));
 * ```
 */
export async function mapImages<T>(data: ImageDataset, fn: (image: RawImage, entry: DatasetEntry) => T, options: LongRunning & { batchSize?: number } = {}): Promise<PerImage<T>> {
  const out: PerImage<T> = { values: [], ids: [], labels: [], skipped: [] };
  for await (const batch of readBatches(data, { ...options, stage: 'load', where: 'mapImages' }, out.skipped)) {
    for (const { image, entry } of batch) {
      out.values.push(fn(image, entry));
      out.ids.push(entry.id);
      out.labels.push(entry.label);
    }
  }
  return out;
}

/**
 * Hand-crafted features of every image of a dataset: `fn` maps an image to a vector (all of the same length), e.g.
 * `(image) => colorHistogram(image)`. The result has the shape of `embedImages`' (a matrix with ids and labels), so
 * it indexes, evaluates and clusters the same way.
 *
 * @example
 * ```ts
 * const { matrix, ids, labels } = await extractFeatures(data, (image) => colorHistogram(image));
 * ```
 */
export async function extractFeatures(data: ImageDataset, fn: (image: RawImage) => Float32Array, options: LongRunning & { batchSize?: number } = {}): Promise<Omit<PerImage<Float32Array>, 'values'> & { matrix: Matrix }> {
  const { values, ...rest } = await mapImages(data, fn, options);
  const cols = values[0]?.length ?? 0;
  const matrix = { data: new Float32Array(values.length * cols), rows: values.length, cols };
  values.forEach((v, i) => {
    if (v.length !== cols) throw new CbirError('INVALID_ARGUMENT', `extractFeatures: image ${rest.ids[i]} gave ${v.length} values, the first gave ${cols}; the extractor must return vectors of one length.`);
    matrix.data.set(v, i * cols);
  });
  return { matrix, ...rest };
}
