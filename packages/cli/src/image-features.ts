import { join } from 'node:path';
import {
  BagOfVisualWords,
  BowExtractor,
  mapImages,
  orbDescriptors,
  type ImageDataset,
  type ImageInfo,
  type LongRunning,
  type PerImage,
} from 'cbir-core';
import { loadOpenCv, readImageInfos } from 'cbir-node';

/**
 * The feature-file columns that say where each row's image is and what was read of its file (size, time, content
 * hash, EXIF: `readImageInfo`), for `cbir index` to keep with each item.
 */
export async function fileColumns(
  ids: readonly string[],
  root: string,
  options: LongRunning,
): Promise<{ paths: string[]; info: (ImageInfo | undefined)[] }> {
  const paths = ids.map((id) => join(root, id));
  return { paths, info: await readImageInfos(paths, options) };
}

/** ORB descriptors of every image of a folder dataset (OpenCV.js), with ids, labels and skipped files. */
export async function orbOfDataset(
  data: ImageDataset,
  nFeatures: number,
  options: LongRunning,
): Promise<PerImage<Uint8Array>> {
  const cv = await loadOpenCv();
  return mapImages(data, (image) => orbDescriptors(cv, image, { nFeatures }), options);
}

/** Feature-file fields of a BoW transform over a dataset's descriptors. */
/** (The vocabulary and ORB settings go with the features as their extractor, so cbir search --query describes a new image with them.) */
export function bowFeatureFile(
  bow: BagOfVisualWords,
  perImage: PerImage<Uint8Array>,
  root: string,
  metadata: Record<string, unknown> & { size: number | 'original' },
  nFeatures: number,
) {
  return {
    matrix: bow.transform(perImage.values),
    ids: perImage.ids,
    labels: perImage.labels,
    paths: perImage.ids.map((id) => join(root, id)),
    metadata: { kind: 'bow', k: bow.k, encoding: bow.encoding, tfidf: bow.tfidf, l2: bow.l2, ...metadata },
    extractor: BowExtractor.specOf(bow, { nFeatures, size: metadata.size }),
  };
}
