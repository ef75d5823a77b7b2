import { CbirError } from '../errors.js';
import type { DatasetEntry, ImageDataset } from '../data/image-dataset.js';
import { readBatches } from '../data/read-batches.js';
import type { RawImage } from '../image/raw-image.js';
import { checkFiniteMatrix, type Matrix } from '../matrix.js';
import type { ExtractorSpec, FeatureExtractor } from './extractor.js';
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
export async function mapImages<T>(
  data: ImageDataset,
  fn: (image: RawImage, entry: DatasetEntry) => T,
  options: LongRunning & { batchSize?: number } = {},
): Promise<PerImage<T>> {
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
export async function extractFeatures(
  data: ImageDataset,
  fn: (image: RawImage) => Float32Array,
  options: LongRunning & { batchSize?: number } = {},
): Promise<Omit<PerImage<Float32Array>, 'values'> & { matrix: Matrix }> {
  const { values, ...rest } = await mapImages(data, fn, options);
  const cols = values[0]?.length ?? 0;
  const matrix = { data: new Float32Array(values.length * cols), rows: values.length, cols };
  values.forEach((v, i) => {
    if (v.length !== cols)
      throw new CbirError(
        'INVALID_ARGUMENT',
        `extractFeatures: image ${rest.ids[i]} gave ${v.length} values, the first gave ${cols}; the extractor must return vectors of one length.`,
      );
    matrix.data.set(v, i * cols);
  });
  return { matrix, ...rest };
}

/**
 * Features of every image of a dataset through an extractor of the family (hand-crafted, fused, pretrained): raw
 * vectors in batches, then `fit` on the whole collection (when the extractor needs it and is not fitted yet), then
 * `transform`. The result carries the fitted extractor's spec, to be saved with the features and the index so that
 * queries go through the same steps. Items that fail to decode are reported and skipped.
 *
 * @example
 * ```ts
 * const fx = await createExtractor({ kind: 'fused', options: {} });
 * const { matrix, ids, extractor } = await extractDataset(data, fx, { onProgress: console.log });
 * ```
 */
export async function extractDataset(
  data: ImageDataset,
  fx: FeatureExtractor,
  options: LongRunning & { batchSize?: number; refit?: boolean } = {},
): Promise<Omit<PerImage<never>, 'values'> & { matrix: Matrix; extractor: ExtractorSpec }> {
  const out = { ids: [] as string[], labels: [] as (string | undefined)[], skipped: [] as string[] };
  const chunks: Float32Array[] = [];
  for await (const batch of readBatches(data, { ...options, stage: 'embed', where: 'extractDataset' }, out.skipped)) {
    const vs = await fx.extract(batch.map((b) => b.image));
    vs.forEach((v, i) => {
      if (v.length !== fx.rawDim)
        throw new CbirError(
          'INVALID_ARGUMENT',
          `extractDataset: ${fx.kind} gave ${v.length} values for ${batch[i].entry.id}; it declares ${fx.rawDim}.`,
        );
      chunks.push(v);
      out.ids.push(batch[i].entry.id);
      out.labels.push(batch[i].entry.label);
    });
  }
  const raw = { data: new Float32Array(chunks.length * fx.rawDim), rows: chunks.length, cols: fx.rawDim };
  chunks.forEach((v, i) => raw.data.set(v, i * fx.rawDim));
  chunks.length = 0;
  // Adding to a collection (a fitted extractor, not refitted) may find nothing new that decodes: an empty result.
  if (raw.rows === 0 && options.refit === false && !fx.needsFit)
    return { ...out, matrix: { data: new Float32Array(0), rows: 0, cols: fx.dim }, extractor: fx.spec() };
  if (raw.rows === 0)
    throw new CbirError(
      'INVALID_ARGUMENT',
      `extractDataset: no image of the ${data.size} decoded; nothing to extract.`,
    );
  if (fx.needsFit && (options.refit ?? true)) fx.fit(raw);
  const matrix = fx.transform(raw);
  checkFiniteMatrix('extractDataset', matrix, 'the features');
  return { ...out, matrix, extractor: fx.spec() };
}
