import { CbirError, NotFittedError } from '../errors.js';
import type { RawImage } from '../image/raw-image.js';
import type { Matrix } from '../matrix.js';
import { normalizeBlock, type BlockNorm } from './block-extractor.js';
import type { ExtractorSpec, FeatureExtractor } from './extractor.js';

/** One member of a {@link FusionExtractor}: an extractor, how its vectors are normalised, and its weight. */
export interface FusionMember {
  extractor: FeatureExtractor;
  /** How the member's vector is normalised before fusion. @defaultValue 'l2' */
  norm?: BlockNorm;
  /** Its share of the fused similarity (the member is scaled by the square root). @defaultValue 1 */
  weight?: number;
}

/**
 * A weighted fusion of any extractors of the family (hand-crafted blocks, the autoencoder, a pretrained model, a bag
 * of words), as {@link BlockExtractor} fuses its blocks: each member's vector normalised to unit length (Hellinger,
 * z-scored over the collection, or L2), scaled by `sqrt(weight / total weight)`, and concatenated, so the dot product
 * is the weighted mean of the members' similarities. Images are taken at their own size when the members differ in
 * the size they want (each member resizes itself).
 *
 * @example
 * ```ts
 * const fx = new FusionExtractor([
 *   { extractor: new BlockExtractor(), weight: 1 },
 *   { extractor: await PretrainedExtractor.create(model, { inputSize: 224 }), weight: 1 },
 * ]);
 * const { matrix } = await extractDataset(data, fx);
 * ```
 */
export class FusionExtractor implements FeatureExtractor {
  readonly kind = 'fusion';
  readonly rawDim: number;
  readonly dim: number;
  readonly imageSize: number | 'original';
  readonly needsFit: boolean;
  private readonly members: Required<FusionMember>[];
  private readonly offsets: number[] = [0];
  private stats?: ({ mean: Float32Array; std: Float32Array } | undefined)[];

  constructor(members: readonly FusionMember[], state?: Record<string, Float32Array>) {
    if (!Array.isArray(members) || members.length === 0)
      throw new CbirError('INVALID_ARGUMENT', 'FusionExtractor: give at least one member.');
    this.members = members.map((m, i) => {
      const norm = m.norm ?? 'l2';
      const weight = m.weight ?? 1;
      if (!['hellinger', 'zscore', 'l2', 'none'].includes(norm))
        throw new CbirError(
          'INVALID_ARGUMENT',
          `FusionExtractor member ${i}: norm must be hellinger, zscore, l2 or none, got ${JSON.stringify(norm)}.`,
        );
      if (!(weight > 0 && Number.isFinite(weight)))
        throw new CbirError(
          'INVALID_ARGUMENT',
          `FusionExtractor member ${i}: weight must be a positive number, got ${weight}.`,
        );
      return { extractor: m.extractor, norm, weight };
    });
    for (const m of this.members) this.offsets.push(this.offsets[this.offsets.length - 1] + m.extractor.dim);
    this.rawDim = this.members.reduce((a, m) => a + m.extractor.rawDim, 0);
    this.dim = this.offsets[this.members.length];
    const sizes = new Set(this.members.map((m) => m.extractor.imageSize));
    this.imageSize = sizes.size === 1 ? [...sizes][0] : 'original';
    this.needsFit = this.members.some((m) => m.norm === 'zscore' || m.extractor.needsFit);
    if (state) {
      this.stats = this.members.map((m, i) => {
        if (m.norm !== 'zscore') return undefined;
        const [mean, std] = [state[`mean.${i}`], state[`std.${i}`]];
        if (mean?.length !== m.extractor.dim || std?.length !== m.extractor.dim)
          throw new CbirError(
            'INVALID_ARGUMENT',
            `fusion: the saved statistics of member ${i} do not match its ${m.extractor.dim} values. Extract the features again.`,
          );
        return { mean, std };
      });
    }
  }

  /** Raw vectors: the members' raw vectors, concatenated. */
  async extract(images: readonly RawImage[]): Promise<Float32Array[]> {
    const parts: Float32Array[][] = [];
    for (const m of this.members) parts.push(await m.extractor.extract(images));
    return images.map((_, i) => {
      const out = new Float32Array(this.rawDim);
      let at = 0;
      for (const p of parts) {
        out.set(p[i], at);
        at += p[i].length;
      }
      return out;
    });
  }

  /** Fits each member on its part of the raw vectors, then the z-score statistics of its transformed vectors. */
  fit(raw: Matrix): void {
    const parts = this.split(raw);
    this.stats = this.members.map((m, i) => {
      if (m.extractor.needsFit) m.extractor.fit(parts[i]);
      if (m.norm !== 'zscore') return undefined;
      const t = m.extractor.transform(parts[i]);
      const d = t.cols;
      const mean = new Float64Array(d);
      const sq = new Float64Array(d);
      for (let r = 0; r < t.rows; r++) for (let j = 0; j < d; j++) mean[j] += t.data[r * d + j] / t.rows;
      for (let r = 0; r < t.rows; r++) for (let j = 0; j < d; j++) sq[j] += (t.data[r * d + j] - mean[j]) ** 2;
      return { mean: Float32Array.from(mean), std: Float32Array.from(sq, (v) => Math.sqrt(v / t.rows)) };
    });
  }

  transform(raw: Matrix): Matrix {
    if (this.needsFit && !this.stats)
      throw new NotFittedError('fusion: transform before fit; fit it on the collection first.');
    const parts = this.split(raw).map((p, i) => this.members[i].extractor.transform(p));
    const total = this.members.reduce((a, m) => a + m.weight, 0);
    const out = new Float32Array(raw.rows * this.dim);
    const tmp = new Float64Array(Math.max(...this.members.map((m) => m.extractor.dim)));
    for (let r = 0; r < raw.rows; r++) {
      this.members.forEach((m, i) => {
        const p = parts[i];
        normalizeBlock(m.norm, p.data.subarray(r * p.cols, (r + 1) * p.cols), tmp, this.stats?.[i]);
        const scale = Math.sqrt(m.weight / total);
        for (let j = 0; j < p.cols; j++) out[r * this.dim + this.offsets[i] + j] = tmp[j] * scale;
      });
    }
    return { data: out, rows: raw.rows, cols: this.dim };
  }

  spec(): ExtractorSpec {
    const state: Record<string, Float32Array> = {};
    this.stats?.forEach((s, i) => {
      if (!s) return;
      state[`mean.${i}`] = s.mean;
      state[`std.${i}`] = s.std;
    });
    // Each member's own spec, its arrays under its index.
    const members = this.members.map((m, i) => {
      const spec = m.extractor.spec();
      for (const [name, arr] of Object.entries(spec.state ?? {})) state[`${i}/${name}`] = arr;
      return {
        kind: spec.kind,
        options: spec.options,
        state: Object.keys(spec.state ?? {}),
        norm: m.norm,
        weight: m.weight,
      };
    });
    return { kind: this.kind, options: { members }, state };
  }

  dispose(): void {
    for (const m of this.members) m.extractor.dispose();
  }

  private split(raw: Matrix): Matrix[] {
    if (raw.cols !== this.rawDim)
      throw new CbirError(
        'INVALID_ARGUMENT',
        `fusion: expected raw vectors of ${this.rawDim} values, got ${raw.cols}.`,
      );
    let at = 0;
    return this.members.map((m) => {
      const d = m.extractor.rawDim;
      const data = new Float32Array(raw.rows * d);
      for (let r = 0; r < raw.rows; r++) data.set(raw.data.subarray(r * raw.cols + at, r * raw.cols + at + d), r * d);
      at += d;
      return { data, rows: raw.rows, cols: d };
    });
  }
}

/** The members' specs of a saved fusion, with their arrays. @internal */
export function fusionMembers(spec: ExtractorSpec): { spec: ExtractorSpec; norm: BlockNorm; weight: number }[] {
  const members = spec.options.members as {
    kind: string;
    options: Record<string, unknown>;
    state: string[];
    norm: BlockNorm;
    weight: number;
  }[];
  if (!Array.isArray(members))
    throw new CbirError('INVALID_ARGUMENT', 'fusion: options.members must be a list of member specs.');
  return members.map((m, i) => ({
    spec: {
      kind: m.kind,
      options: m.options,
      state: Object.fromEntries(
        (m.state ?? []).map((name) => [name, spec.state?.[`${i}/${name}`] ?? new Float32Array(0)]),
      ),
    },
    norm: m.norm,
    weight: m.weight,
  }));
}
