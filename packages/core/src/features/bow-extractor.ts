import { CbirError } from '../errors.js';
import type { RawImage } from '../image/raw-image.js';
import type { Matrix } from '../matrix.js';
import { BagOfVisualWords, type DescriptorEncoding } from './bag-of-visual-words.js';
import type { ExtractorSpec, FeatureExtractor } from './extractor.js';
import { orbDescriptors, type OpenCv } from './orb.js';

/**
 * ORB bag of visual words as a member of the extractor family (kind `'bow'`): each image's ORB descriptors
 * (OpenCV.js) assigned to a fitted vocabulary, one histogram per image. The spec holds the vocabulary, so a query
 * is described with the collection's words; restoring it needs OpenCV (`createExtractor(spec, { cv })`).
 *
 * @example
 * ```ts
 * const cv = await loadOpenCv();
 * const fx = new BowExtractor(cv, BagOfVisualWords.deserialize(bytes), { nFeatures: 500 });
 * const q = await extractOne(fx, query);
 * ```
 */
export class BowExtractor implements FeatureExtractor {
  readonly kind = 'bow';
  readonly needsFit = false;
  readonly rawDim: number;
  readonly dim: number;
  readonly imageSize: number | 'original';
  private readonly nFeatures: number;

  constructor(
    private readonly cv: OpenCv,
    private readonly bow: BagOfVisualWords,
    options: { nFeatures?: number; size?: number | 'original' } = {},
  ) {
    this.nFeatures = options.nFeatures ?? 500;
    if (!Number.isInteger(this.nFeatures) || this.nFeatures < 1)
      throw new CbirError('INVALID_ARGUMENT', `bow: nFeatures must be a positive integer, got ${this.nFeatures}.`);
    this.imageSize = options.size ?? 'original';
    this.rawDim = this.dim = bow.k;
    void bow.vocabulary; // throws NotFittedError for a vocabulary that was never fitted
  }

  async extract(images: readonly RawImage[]): Promise<Float32Array[]> {
    const m = this.bow.transform(images.map((im) => orbDescriptors(this.cv, im, { nFeatures: this.nFeatures })));
    return images.map((_, i) => m.data.slice(i * m.cols, (i + 1) * m.cols));
  }

  fit(): void {}

  transform(raw: Matrix): Matrix {
    return { data: raw.data.slice(), rows: raw.rows, cols: raw.cols };
  }

  spec(): ExtractorSpec {
    return BowExtractor.specOf(this.bow, { nFeatures: this.nFeatures, size: this.imageSize });
  }

  /**
   * The spec of a bag of words over `bow` (what {@link BowExtractor.spec} gives), without OpenCV at hand.
   *
   * @example
   * ```ts
   * const extractor = BowExtractor.specOf(bow, { nFeatures: 500, size: 'original' });   // saved with the features
   * ```
   */
  static specOf(bow: BagOfVisualWords, options: { nFeatures: number; size: number | 'original' }): ExtractorSpec {
    const { header, words, idf } = bow.toArrays();
    return {
      kind: 'bow',
      options: { ...header, nFeatures: options.nFeatures, size: options.size },
      state: { words, idf },
    };
  }

  /** Nothing to free. */
  dispose(): void {}
}

/** The registry's factory for `'bow'`: the saved vocabulary over `context.cv`. @internal */
export function bowFromSpec(spec: ExtractorSpec, cv: unknown): BowExtractor {
  if (!cv)
    throw new CbirError('INVALID_ARGUMENT', 'bow: ORB needs OpenCV.js; pass it as { cv } (cbir-node: loadOpenCv()).');
  const o = spec.options as {
    k: number;
    encoding: DescriptorEncoding;
    tfidf: boolean;
    l2: boolean;
    cols: number;
    nFeatures: number;
    size: number | 'original';
  };
  const bow = BagOfVisualWords.fromArrays(
    o,
    spec.state?.words ?? new Float32Array(0),
    spec.state?.idf ?? new Float32Array(0),
  );
  return new BowExtractor(cv as OpenCv, bow, { nFeatures: o.nFeatures, size: o.size });
}
