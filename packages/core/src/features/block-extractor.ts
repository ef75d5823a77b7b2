import { CbirError, NotFittedError } from '../errors.js';
import { resizeShortSide, toRgb } from '../image/image-ops.js';
import type { RawImage } from '../image/raw-image.js';
import type { Matrix } from '../matrix.js';
import { colorHistogram, colorHistogramDim, type ColorHistogramOptions } from './color-histogram.js';
import type { ExtractorSpec, FeatureExtractor } from './extractor.js';
import {
  colorGrid,
  colorGridDim,
  colorMoments,
  hog,
  lbp,
  type ColorGridOptions,
  type ColorMomentsOptions,
  type HogOptions,
  type LbpOptions,
} from './hand-crafted.js';
import { scaleToUnit } from '../compute/normalize.js';

/** The hand-crafted blocks. */
export type BlockKind = 'colorhist' | 'colorgrid' | 'lbp' | 'moments' | 'hog';

/**
 * How a block's raw vector becomes a unit vector whose dot products are the block's similarity:
 * - `'hellinger'`: L1-normalise, then square roots (so cosine is the Bhattacharyya coefficient; for histograms);
 * - `'zscore'`: subtract the collection's mean and divide by its standard deviation per value, then L2 (fitted);
 * - `'l2'`: L2 only; `'none'`: the raw vector (e.g. an L1 histogram for chi-square).
 */
export type BlockNorm = 'hellinger' | 'zscore' | 'l2' | 'none';

/** One block of a {@link BlockExtractor}: a hand-crafted feature, its normalisation and its weight in a fusion. */
export interface BlockSpec {
  kind: BlockKind;
  /** The feature's own options (bins, radii, grid, ...). */
  options?: ColorHistogramOptions | ColorGridOptions | LbpOptions | ColorMomentsOptions | HogOptions;
  /** How the block's vector is normalised before fusion. @defaultValue `'hellinger'` for colorgrid, `'none'` for colorhist, `'zscore'` for the others */
  norm?: BlockNorm;
  /** Its share of the fused similarity (the block is scaled by the square root). @defaultValue 1 */
  weight?: number;
  /** Whether it sees the centre square (short side resized to `short`, then cropped) or the whole image at its own size. @defaultValue false for colorgrid, true for the others */
  crop?: boolean;
  /** The short side for `crop`. @defaultValue 256 */
  short?: number;
}

/**
 * The fusion the label-free study found best on wang1k: an uncropped HSV 16x4x4 colour grid (Hellinger, weight 1),
 * uniform LBP (0.5), Lab colour moments (0.25) and HOG (0.25), the last three z-scored over the collection.
 */
export const DEFAULT_FUSION: readonly BlockSpec[] = Object.freeze([
  { kind: 'colorgrid', weight: 1 },
  { kind: 'lbp', weight: 0.5 },
  { kind: 'moments', weight: 0.25 },
  { kind: 'hog', weight: 0.25 },
]);

/** @internal */
export const BLOCK_KINDS: readonly BlockKind[] = ['colorhist', 'colorgrid', 'lbp', 'moments', 'hog'];
const NORMS: readonly BlockNorm[] = ['hellinger', 'zscore', 'l2', 'none'];

interface ResolvedBlock {
  kind: BlockKind;
  options: Record<string, unknown>;
  norm: BlockNorm;
  weight: number;
  crop: boolean;
  short: number;
  dim: number;
  fn: (image: RawImage) => Float32Array;
}

function resolveBlock(b: BlockSpec, where: string): ResolvedBlock {
  if (!BLOCK_KINDS.includes(b?.kind))
    throw new CbirError(
      'INVALID_ARGUMENT',
      `${where}: block kind must be one of ${BLOCK_KINDS.join(', ')}, got ${JSON.stringify(b?.kind)}.`,
    );
  const options = { ...(b.options ?? {}) } as Record<string, unknown>;
  const norm = b.norm ?? (b.kind === 'colorgrid' ? 'hellinger' : b.kind === 'colorhist' ? 'none' : 'zscore');
  if (!NORMS.includes(norm))
    throw new CbirError(
      'INVALID_ARGUMENT',
      `${where}: norm must be one of ${NORMS.join(', ')}, got ${JSON.stringify(norm)}.`,
    );
  const weight = b.weight ?? 1;
  if (!(weight > 0 && Number.isFinite(weight)))
    throw new CbirError('INVALID_ARGUMENT', `${where}: a block's weight must be a positive number, got ${weight}.`);
  const crop = b.crop ?? b.kind !== 'colorgrid';
  const short = b.short ?? 256;
  if (!Number.isInteger(short) || short < 16 || short > 4096)
    throw new CbirError('INVALID_ARGUMENT', `${where}: short must be an integer from 16 to 4096, got ${short}.`);
  // Each feature is tried once on a small image, which checks its options now rather than on the first photo.
  let fn: (image: RawImage) => Float32Array;
  if (b.kind === 'colorhist') fn = (im) => colorHistogram(im, options as ColorHistogramOptions);
  else if (b.kind === 'colorgrid') fn = (im) => colorGrid(im, options as ColorGridOptions);
  else if (b.kind === 'lbp') fn = (im) => lbp(im, options as LbpOptions);
  else if (b.kind === 'moments') fn = (im) => colorMoments(im, options as ColorMomentsOptions);
  else fn = (im) => hog(im, options as HogOptions);
  const probe = { data: new Uint8Array(short * short * 3), width: short, height: short, channels: 3 as const };
  const dim =
    b.kind === 'colorhist'
      ? colorHistogramDim(options)
      : b.kind === 'colorgrid'
        ? colorGridDim(options)
        : fn(probe).length;
  return { kind: b.kind, options, norm, weight, crop, short, dim, fn };
}

/**
 * Hand-crafted features as one extractor: a single block (`kind` is the block's, e.g. `'lbp'`) or a weighted fusion
 * of several (`'fused'`). Each block is normalised to a unit vector (see {@link BlockNorm}) and scaled by
 * `sqrt(weight / total weight)`, so the dot product of two fused vectors is the weighted mean of the blocks'
 * similarities. Images are taken at their own size; each block resizes and crops as the study does.
 *
 * @example
 * ```ts
 * const fx = new BlockExtractor();                        // the study's fusion, 4019 raw values
 * const raw = await extractMatrix(fx, images);
 * fx.fit(raw);                                             // z-score statistics of the collection
 * const features = fx.transform(raw);                      // unit vectors: index with cosine
 * ```
 */
export class BlockExtractor implements FeatureExtractor {
  readonly kind: string;
  readonly rawDim: number;
  readonly dim: number;
  readonly imageSize = 'original' as const;
  readonly needsFit: boolean;
  private readonly blocks: ResolvedBlock[];
  private readonly offsets: number[];
  private stats?: { mean: Float32Array; std: Float32Array }[];

  constructor(
    blocks: readonly BlockSpec[] = DEFAULT_FUSION,
    options: { kind?: string; state?: Record<string, Float32Array> } = {},
  ) {
    if (!Array.isArray(blocks) || blocks.length === 0)
      throw new CbirError('INVALID_ARGUMENT', 'BlockExtractor: give at least one block.');
    this.blocks = blocks.map((b, i) => resolveBlock(b, `BlockExtractor block ${i}`));
    this.kind = options.kind ?? (blocks.length === 1 ? this.blocks[0].kind : 'fused');
    this.offsets = [0];
    for (const b of this.blocks) this.offsets.push(this.offsets[this.offsets.length - 1] + b.dim);
    this.rawDim = this.dim = this.offsets[this.blocks.length];
    this.needsFit = this.blocks.some((b) => b.norm === 'zscore');
    if (options.state) this.restore(options.state);
  }

  async extract(images: readonly RawImage[]): Promise<Float32Array[]> {
    return images.map((image) => {
      const full = toRgb(image);
      const crops = new Map<number, RawImage>();
      const out = new Float32Array(this.rawDim);
      this.blocks.forEach((b, i) => {
        let input = full;
        if (b.crop) {
          if (!crops.has(b.short)) crops.set(b.short, resizeShortSide(full, b.short, true));
          input = crops.get(b.short)!;
        }
        out.set(b.fn(input), this.offsets[i]);
      });
      return out;
    });
  }

  fit(raw: Matrix): void {
    this.checkRaw('fit', raw);
    this.stats = this.blocks.map((b, i) => {
      if (b.norm !== 'zscore') return { mean: new Float32Array(0), std: new Float32Array(0) };
      const [o, d] = [this.offsets[i], b.dim];
      const mean = new Float64Array(d);
      const sq = new Float64Array(d);
      for (let r = 0; r < raw.rows; r++) for (let j = 0; j < d; j++) mean[j] += raw.data[r * raw.cols + o + j];
      for (let j = 0; j < d; j++) mean[j] /= raw.rows;
      for (let r = 0; r < raw.rows; r++) {
        for (let j = 0; j < d; j++) {
          const v = raw.data[r * raw.cols + o + j] - mean[j];
          sq[j] += v * v;
        }
      }
      return { mean: Float32Array.from(mean), std: Float32Array.from(sq, (s) => Math.sqrt(s / raw.rows)) };
    });
  }

  transform(raw: Matrix): Matrix {
    this.checkRaw('transform', raw);
    if (this.needsFit && !this.stats)
      throw new NotFittedError(
        `${this.kind}: transform before fit; fit the extractor on the collection first (its z-score statistics).`,
      );
    const total = this.blocks.reduce((a, b) => a + b.weight, 0);
    const out = new Float32Array(raw.rows * this.dim);
    const tmp = new Float64Array(Math.max(...this.blocks.map((b) => b.dim)));
    for (let r = 0; r < raw.rows; r++) {
      this.blocks.forEach((b, i) => {
        const o = this.offsets[i];
        const src = raw.data.subarray(r * raw.cols + o, r * raw.cols + o + b.dim);
        const scale = Math.sqrt(b.weight / total);
        normalizeBlock(b.norm, src, tmp, this.stats?.[i]);
        for (let j = 0; j < b.dim; j++) out[r * this.dim + o + j] = tmp[j] * scale;
      });
    }
    return { data: out, rows: raw.rows, cols: this.dim };
  }

  spec(): ExtractorSpec {
    const blocks = this.blocks.map((b) => ({
      kind: b.kind,
      options: b.options,
      norm: b.norm,
      weight: b.weight,
      crop: b.crop,
      short: b.short,
    }));
    const state: Record<string, Float32Array> = {};
    this.stats?.forEach((s, i) => {
      if (this.blocks[i].norm !== 'zscore') return;
      state[`mean.${i}`] = s.mean;
      state[`std.${i}`] = s.std;
    });
    return { kind: this.kind, options: { blocks }, ...(Object.keys(state).length ? { state } : {}) };
  }

  dispose(): void {}

  private restore(state: Record<string, Float32Array>): void {
    this.stats = this.blocks.map((b, i) => {
      if (b.norm !== 'zscore') return { mean: new Float32Array(0), std: new Float32Array(0) };
      const mean = state[`mean.${i}`];
      const std = state[`std.${i}`];
      if (mean?.length !== b.dim || std?.length !== b.dim) {
        throw new CbirError(
          'INVALID_ARGUMENT',
          `${this.kind}: the saved statistics of block ${i} (${b.kind}) have ${mean?.length ?? 'no'} means and ${std?.length ?? 'no'} deviations; expected ${b.dim} of each. Extract the features again.`,
        );
      }
      return { mean, std };
    });
  }

  private checkRaw(where: string, raw: Matrix): void {
    if (raw.cols !== this.rawDim || raw.data.length !== raw.rows * raw.cols) {
      throw new CbirError(
        'INVALID_ARGUMENT',
        `${this.kind}.${where}: expected raw vectors of ${this.rawDim} values (from extract), got a ${raw.rows} x ${raw.cols} matrix.`,
      );
    }
    if (where === 'fit' && raw.rows < 2)
      throw new CbirError(
        'INVALID_ARGUMENT',
        `${this.kind}.fit: the collection statistics need at least 2 images, got ${raw.rows}.`,
      );
  }
}

/** One block's normalisation of `src` into `dst` (float64). @internal */
export function normalizeBlock(
  norm: BlockNorm,
  src: Float32Array,
  dst: Float64Array,
  stats?: { mean: Float32Array; std: Float32Array },
): void {
  const d = src.length;
  if (norm === 'none') {
    for (let j = 0; j < d; j++) dst[j] = src[j];
    return;
  }
  if (norm === 'hellinger') {
    let s = 0;
    for (let j = 0; j < d; j++) s += Math.abs(src[j]);
    s = Math.max(s, 1e-12);
    for (let j = 0; j < d; j++) dst[j] = Math.sqrt(Math.max(src[j] / s, 0));
    return;
  }
  if (norm === 'zscore') for (let j = 0; j < d; j++) dst[j] = (src[j] - stats!.mean[j]) / (stats!.std[j] + 1e-8);
  else for (let j = 0; j < d; j++) dst[j] = src[j];
  scaleToUnit(dst.subarray(0, d), 1e-12);
}

/**
 * The Hellinger transform of histograms (rows of `m`): L1-normalise each row, then square roots. The Euclidean or
 * cosine distance of transformed rows ranks as the Hellinger distance of the histograms, so every index kind serves
 * it.
 *
 * @example
 * ```ts
 * index.add(hellinger(histograms));   // then search with hellinger(queries)
 * ```
 */
export function hellinger(m: Matrix): Matrix {
  const out = new Float32Array(m.data.length);
  const tmp = new Float64Array(m.cols);
  for (let r = 0; r < m.rows; r++) {
    normalizeBlock('hellinger', m.data.subarray(r * m.cols, (r + 1) * m.cols), tmp);
    for (let j = 0; j < m.cols; j++) out[r * m.cols + j] = tmp[j];
  }
  return { data: out, rows: m.rows, cols: m.cols };
}

/**
 * The chi-square distance of two histograms, `0.5 * sum (a - b)^2 / (a + b)` over bins where `a + b > 0` (0 for
 * equal histograms, at most 1 for L1-normalised ones).
 *
 * @example
 * ```ts
 * chiSquare(colorHistogram(a), colorHistogram(b));
 * ```
 */
export function chiSquare(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length)
    throw new CbirError(
      'INVALID_ARGUMENT',
      `chiSquare: histograms of ${a.length} and ${b.length} bins; they must have the same bins.`,
    );
  let s = 0;
  for (let j = 0; j < a.length; j++) {
    const den = a[j] + b[j];
    if (den > 0) s += ((a[j] - b[j]) * (a[j] - b[j])) / den;
  }
  return 0.5 * s;
}

/** The blocks of a saved spec (`options.blocks`, or a single block's options). @internal */
export function blocksOf(spec: ExtractorSpec): BlockSpec[] {
  const blocks = spec.options.blocks;
  if (blocks === undefined)
    return spec.kind === 'fused'
      ? [...DEFAULT_FUSION]
      : [{ kind: spec.kind as BlockKind, ...(spec.options as Omit<BlockSpec, 'kind'>) }];
  if (!Array.isArray(blocks))
    throw new CbirError('INVALID_ARGUMENT', `${spec.kind}: options.blocks must be a list of blocks.`);
  return blocks as BlockSpec[];
}
