import type { SavedSpec } from '../io/saved-spec.js';
import type { RawImage } from '../image/raw-image.js';
import type { Matrix } from '../matrix.js';

/**
 * What rebuilds an extractor exactly: its kind, its options (JSON) and its fitted state (named float32 arrays, e.g.
 * z-score statistics). It travels with the features it made (feature files) and with every index built from them,
 * so a query image goes through exactly what the collection went through.
 */
export type ExtractorSpec = SavedSpec;

/**
 * One family of feature extractors: hand-crafted blocks (colour histogram, colour grid, LBP, colour moments, HOG),
 * their fusion, the autoencoder's encoder and pretrained models all turn images into vectors the same way:
 *
 * 1. `extract` gives raw vectors for a batch of images;
 * 2. `fit` learns the collection's statistics from the raw vectors (when `needsFit`), once, at indexing time;
 * 3. `transform` applies them, giving the features that are indexed, and queries get the same `transform`.
 *
 * `spec()` is what is saved; {@link createExtractor} rebuilds an extractor from it.
 *
 * @example
 * ```ts
 * const fx = await createExtractor({ kind: 'fused', options: {} });
 * const raw = await extractMatrix(fx, images);   // [n, fx.rawDim]
 * fx.fit(raw);
 * const features = fx.transform(raw);            // [n, fx.dim], what the index holds
 * ```
 */
export interface FeatureExtractor {
  readonly kind: string;
  /** Length of `extract`'s raw vectors. */
  readonly rawDim: number;
  /** Length of `transform`'s vectors. */
  readonly dim: number;
  /** How images should be decoded for it: `'original'` (it resizes them itself) or the side of the square it takes. */
  readonly imageSize: number | 'original';
  /** Whether `fit` must run on a collection before `transform`. */
  readonly needsFit: boolean;
  /** Raw vectors of a batch of images, `rawDim` each. */
  extract(images: readonly RawImage[]): Promise<Float32Array[]>;
  /** Learns the collection's statistics from its raw vectors (`[n, rawDim]`). */
  fit(raw: Matrix): void;
  /** The final features of raw vectors (`[n, rawDim]` to `[n, dim]`). @throws {@link NotFittedError}-like errors before `fit` when `needsFit`. */
  transform(raw: Matrix): Matrix;
  /** Options and fitted state, for {@link createExtractor}. */
  spec(): ExtractorSpec;
  /** Frees what it holds (tfjs models). */
  dispose(): void;
}

/**
 * Raw vectors of images as one matrix, in batches of `batchSize`.
 *
 * @example
 * ```ts
 * const raw = await extractMatrix(fx, images);
 * ```
 */
export async function extractMatrix(
  fx: FeatureExtractor,
  images: readonly RawImage[],
  batchSize = 32,
): Promise<Matrix> {
  const data = new Float32Array(images.length * fx.rawDim);
  for (let i = 0; i < images.length; i += batchSize) {
    const vs = await fx.extract(images.slice(i, i + batchSize));
    vs.forEach((v, j) => data.set(v, (i + j) * fx.rawDim));
  }
  return { data, rows: images.length, cols: fx.rawDim };
}

/**
 * The features of one image through a fitted extractor: what a query goes through.
 *
 * @example
 * ```ts
 * const q = await extractOne(fx, image);   // Float32Array(fx.dim)
 * index.search({ data: q, rows: 1, cols: q.length }, 10);
 * ```
 */
export async function extractOne(fx: FeatureExtractor, image: RawImage): Promise<Float32Array> {
  const [raw] = await fx.extract([image]);
  return fx.transform({ data: raw, rows: 1, cols: fx.rawDim }).data;
}
