import { CbirError, NotFittedError } from '../errors.js';
import { readFramed, writeFramed } from '../io/framed-file.js';
import type { Matrix } from '../matrix.js';
import type { LongRunning } from '../progress.js';
import { assign } from '../cluster/centroid-clusterer.js';
import { MiniBatchKMeans, type MiniBatchKMeansOptions } from '../cluster/mini-batch-kmeans.js';
import { ORB_DESCRIPTOR_BYTES } from './orb.js';

/**
 * How binary descriptors become vectors for k-means.
 * - `'bytes'`: each of the 32 bytes as a number 0..255 (32 dims). The notebook's choice (it hands the uint8 array to
 *   scikit-learn), 8x cheaper; but bytes 0x7F and 0x80 are "close" although they differ in every bit.
 * - `'bits'`: each of the 256 bits as 0 or 1 (256 dims). Euclidean distance is then the square root of the Hamming
 *   distance, the metric ORB descriptors are designed for.
 */
export type DescriptorEncoding = 'bytes' | 'bits';

/** Options of {@link BagOfVisualWords}. */
export interface BagOfVisualWordsOptions extends Omit<MiniBatchKMeansOptions, 'nClusters'> {
  /** Vocabulary size: the number of visual words (k-means clusters). */
  k: number;
  /** How ORB's 32-byte descriptors are clustered: as 32 byte values, or as 256 bits. @defaultValue 'bytes' (the notebook's) */
  encoding?: DescriptorEncoding;
  /** Weight words by inverse document frequency (scikit-learn's smooth idf: `ln((1 + n) / (1 + df)) + 1`). @defaultValue false */
  tfidf?: boolean;
  /** Scale each histogram to unit L2 norm (else it sums to 1). @defaultValue true */
  l2?: boolean;
}

/**
 * Stacks per-image binary descriptors (`n_i x 32` bytes each) into one matrix in the given encoding.
 *
 * @example
 * ```ts
 * const x = descriptorMatrix(perImageDescriptors, 'bits'); // Matrix [total descriptors, 256] of 0/1
 * new MiniBatchKMeans({ nClusters: 100 }).fit(x);
 * ```
 */
export function descriptorMatrix(descriptors: readonly Uint8Array[], encoding: DescriptorEncoding = 'bytes'): Matrix {
  const rows = descriptors.reduce((a, d) => a + d.length / ORB_DESCRIPTOR_BYTES, 0);
  const cols = encoding === 'bits' ? ORB_DESCRIPTOR_BYTES * 8 : ORB_DESCRIPTOR_BYTES;
  const data = new Float32Array(rows * cols);
  let at = 0;
  for (const d of descriptors) {
    if (d.length % ORB_DESCRIPTOR_BYTES !== 0) {
      throw new CbirError(
        'INVALID_ARGUMENT',
        `descriptorMatrix: ${d.length} bytes is not a whole number of ${ORB_DESCRIPTOR_BYTES}-byte descriptors.`,
      );
    }
    if (encoding === 'bytes') data.set(d, at);
    else for (let i = 0; i < d.length; i++) for (let b = 0; b < 8; b++) data[at + i * 8 + b] = (d[i] >> (7 - b)) & 1;
    at += (d.length / ORB_DESCRIPTOR_BYTES) * cols;
  }
  return { data, rows, cols };
}

/**
 * A bag of visual words: a vocabulary learned by MiniBatchKMeans on local binary descriptors (ORB), and per-image
 * histograms of word counts that work as retrieval features in any index.
 *
 * @example
 * ```ts
 * const cv = await loadOpenCv();
 * const perImage = images.map((im) => orbDescriptors(cv, im));
 * const bow = new BagOfVisualWords({ k: 200, seed: 0 }).fit(perImage);
 * const features = bow.transform(perImage);          // Matrix [images, 200]
 * new ExactEuclideanIndex(200).add(features);
 * ```
 */
export class BagOfVisualWords {
  readonly k: number;
  readonly encoding: DescriptorEncoding;
  readonly tfidf: boolean;
  readonly l2: boolean;
  private readonly estimator: Omit<MiniBatchKMeansOptions, 'nClusters'>;
  private words?: Matrix;
  private idfWeights?: Float64Array;

  constructor(options: BagOfVisualWordsOptions) {
    const { k, encoding = 'bytes', tfidf = false, l2 = true, ...estimator } = options;
    if (!Number.isInteger(k) || k < 1)
      throw new CbirError('INVALID_ARGUMENT', `BagOfVisualWords: k must be a positive integer, got ${k}.`);
    this.k = k;
    this.encoding = encoding;
    this.tfidf = tfidf;
    this.l2 = l2;
    this.estimator = estimator;
  }

  /** The visual words (cluster centres), `[k, 32]` for bytes or `[k, 256]` for bits. */
  get vocabulary(): Matrix {
    if (!this.words) throw new NotFittedError('BagOfVisualWords: call fit(descriptors) first.');
    return this.words;
  }

  /** Learns the vocabulary from every image's descriptors (and the idf weights when `tfidf`). */
  fit(descriptors: readonly Uint8Array[], options: LongRunning = {}): this {
    const x = descriptorMatrix(descriptors, this.encoding);
    if (x.rows < this.k)
      throw new CbirError(
        'INVALID_ARGUMENT',
        `BagOfVisualWords.fit: ${x.rows} descriptors for k = ${this.k} words; give more images or a smaller k.`,
      );
    const mbk = new MiniBatchKMeans({ ...this.estimator, nClusters: this.k }).fit(x, options);
    this.words = mbk.centroids;
    if (this.tfidf) {
      const df = new Float64Array(this.k);
      let at = 0;
      for (const d of descriptors) {
        const n = d.length / ORB_DESCRIPTOR_BYTES;
        const seen = new Set(mbk.labels.subarray(at, at + n));
        for (const w of seen) df[w]++;
        at += n;
      }
      this.idfWeights = df.map((v) => Math.log((1 + descriptors.length) / (1 + v)) + 1);
    }
    return this;
  }

  /** One histogram per image (`[images, k]`): word frequencies, idf-weighted if `tfidf`, L2-normalised if `l2`. An image without descriptors gives a zero row. */
  transform(descriptors: readonly Uint8Array[]): Matrix {
    const words = this.vocabulary;
    const out = new Float32Array(descriptors.length * this.k);
    descriptors.forEach((d, i) => {
      const n = d.length / ORB_DESCRIPTOR_BYTES;
      if (n === 0) return;
      const x = descriptorMatrix([d], this.encoding);
      const { labels } = assign(x, words.data, this.k);
      const h = new Float64Array(this.k);
      for (const w of labels) h[w] += 1 / n;
      if (this.idfWeights) for (let w = 0; w < this.k; w++) h[w] *= this.idfWeights[w];
      const norm = this.l2 ? Math.sqrt(h.reduce((a, v) => a + v * v, 0)) : h.reduce((a, v) => a + v, 0);
      for (let w = 0; w < this.k; w++) out[i * this.k + w] = h[w] / norm;
    });
    return { data: out, rows: descriptors.length, cols: this.k };
  }

  /** The vocabulary as bytes (a framed `CBIRVOCB` file: settings, words, idf). */
  serialize(): Uint8Array {
    const header = { k: this.k, encoding: this.encoding, tfidf: this.tfidf, l2: this.l2, cols: this.vocabulary.cols };
    return writeFramed('CBIRVOCB', 1, header, [this.vocabulary.data, Float32Array.from(this.idfWeights ?? [])]);
  }

  /** Reads {@link BagOfVisualWords.serialize}'s bytes, checking magic, version, sizes and checksum. */
  static deserialize(bytes: Uint8Array, source = 'vocabulary file'): BagOfVisualWords {
    const f = readFramed<{ k: number; encoding: DescriptorEncoding; tfidf: boolean; l2: boolean; cols: number }>(
      bytes,
      'CBIRVOCB',
      1,
      'BagOfVisualWords.deserialize',
      source,
      'Rebuild it with `cbir bow`.',
    );
    const { k, encoding, tfidf, l2, cols } = f.header;
    const words = f.take(k * cols);
    const idf = f.take(tfidf ? k : 0);
    f.end();
    return BagOfVisualWords.fromArrays({ k, encoding, tfidf, l2, cols }, words, idf);
  }

  /** A fitted vocabulary from its settings and arrays (as {@link BagOfVisualWords.serialize} stores them). @internal */
  static fromArrays(
    h: { k: number; encoding: DescriptorEncoding; tfidf: boolean; l2: boolean; cols: number },
    words: Float32Array,
    idf: Float32Array,
  ): BagOfVisualWords {
    const bow = new BagOfVisualWords({ k: h.k, encoding: h.encoding, tfidf: h.tfidf, l2: h.l2 });
    if (words.length !== h.k * h.cols || idf.length !== (h.tfidf ? h.k : 0)) {
      throw new CbirError(
        'INVALID_ARGUMENT',
        `BagOfVisualWords: ${words.length} word values and ${idf.length} idf weights for k = ${h.k} words of ${h.cols}; the vocabulary is inconsistent.`,
      );
    }
    bow.words = { data: words, rows: h.k, cols: h.cols };
    if (h.tfidf) bow.idfWeights = Float64Array.from(idf);
    return bow;
  }

  /** Settings and arrays for {@link BagOfVisualWords.fromArrays} (a fitted vocabulary). @internal */
  toArrays(): {
    header: { k: number; encoding: DescriptorEncoding; tfidf: boolean; l2: boolean; cols: number };
    words: Float32Array;
    idf: Float32Array;
  } {
    return {
      header: { k: this.k, encoding: this.encoding, tfidf: this.tfidf, l2: this.l2, cols: this.vocabulary.cols },
      words: this.vocabulary.data,
      idf: Float32Array.from(this.idfWeights ?? []),
    };
  }
}
