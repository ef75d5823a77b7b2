import { CbirError, FormatError } from '../errors.js';
import { crc32 } from '../io/crc32.js';
import { Rng } from '../utils/rng.js';

/**
 * How latents become feature vectors: `none` (the flattened latent in PyTorch's `[c, h, w]` order, as the notebook),
 * `avgpool` (the mean over space of each channel: `c` dims), `rp:N` (a seeded Gaussian random projection to `N` dims),
 * `pca:N` (principal components, fitted on the embedded data).
 */
export type ReduceSpec = 'none' | 'avgpool' | `rp:${number}` | `pca:${number}`;

/** A reducer's fitted state: enough to reduce new queries exactly as the indexed data was reduced. */
export interface ReducerState {
  kind: 'none' | 'avgpool' | 'rp' | 'pca';
  /** Input: the latent shape `[c, h, w]`. */
  latentShape: [number, number, number];
  /** Output dimension. */
  dim: number;
  /** `rp`: the seed of the projection matrix (regenerated, not stored). */
  seed?: number;
  /** `pca`: the mean of the training features and the components `[dim, c * h * w]`, row-major. */
  mean?: Float32Array;
  components?: Float32Array;
}

/** Parses a {@link ReduceSpec}, listing the valid forms when it is wrong. */
export function parseReduce(spec: string): { kind: ReducerState['kind']; dim?: number } {
  if (spec === 'none' || spec === 'avgpool') return { kind: spec };
  const m = /^(rp|pca):(\d+)$/.exec(spec);
  if (!m || Number(m[2]) < 1) {
    throw new CbirError('INVALID_ARGUMENT', `reduce: "${spec}" is not a reducer. Use none, avgpool, rp:N or pca:N (N a positive integer), e.g. rp:256.`);
  }
  return { kind: m[1] as 'rp' | 'pca', dim: Number(m[2]) };
}

/** Converts NHWC latents of one image (`[h, w, c]`, row-major) to the `[c, h, w]` flattening PyTorch's `.flatten()` gives. */
export function latentToChw(latent: Float32Array, [c, h, w]: readonly [number, number, number], out = new Float32Array(c * h * w)): Float32Array {
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) out[(k * h + y) * w + x] = latent[(y * w + x) * c + k];
  return out;
}

/** The Gaussian projection matrix of `rp`, `[inDim, dim]` row-major, entries N(0, 1/dim), regenerated from `seed`. */
export function projectionMatrix(inDim: number, dim: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const m = new Float32Array(inDim * dim);
  const scale = 1 / Math.sqrt(dim);
  for (let i = 0; i < m.length; i++) m[i] = rng.normal() * scale;
  return m;
}

/**
 * Reduces one image's NHWC latent with a fitted reducer (for `pca`, `state` must hold `mean` and `components`).
 *
 * @returns The feature vector, `state.dim` long.
 */
export function reduceLatent(latent: Float32Array, state: ReducerState, projection?: Float32Array): Float32Array {
  const [c, h, w] = state.latentShape;
  if (state.kind === 'avgpool') {
    const out = new Float32Array(c);
    for (let p = 0; p < h * w; p++) for (let k = 0; k < c; k++) out[k] += latent[p * c + k];
    for (let k = 0; k < c; k++) out[k] /= h * w;
    return out;
  }
  const flat = latentToChw(latent, state.latentShape);
  if (state.kind === 'none') return flat;
  const d = flat.length;
  const out = new Float32Array(state.dim);
  if (state.kind === 'rp') {
    const m = projection ?? projectionMatrix(d, state.dim, state.seed ?? 0);
    for (let i = 0; i < d; i++) {
      const v = flat[i];
      if (v === 0) continue;
      const row = i * state.dim;
      for (let j = 0; j < state.dim; j++) out[j] += v * m[row + j];
    }
    return out;
  }
  const { mean, components } = state;
  if (!mean || !components) throw new CbirError('NOT_FITTED', 'reduceLatent: the pca reducer has not been fitted. Embed a dataset first.');
  for (let j = 0; j < state.dim; j++) {
    let s = 0;
    const row = j * d;
    for (let i = 0; i < d; i++) s += (flat[i] - mean[i]) * components[row + i];
    out[j] = s;
  }
  return out;
}

const MAGIC = 'CBIRREDU';

/** Serialises a fitted reducer (`CBIRREDU`, JSON header length u32, JSON, float32 mean and components, CRC-32). */
export function serializeReducer(state: ReducerState): Uint8Array {
  const { mean, components, ...rest } = state;
  const header = new TextEncoder().encode(JSON.stringify({ ...rest, meanLength: mean?.length ?? 0, componentsLength: components?.length ?? 0 }));
  const arrays = [mean ?? new Float32Array(0), components ?? new Float32Array(0)];
  const out = new Uint8Array(12 + header.length + arrays[0].byteLength + arrays[1].byteLength + 4);
  const dv = new DataView(out.buffer);
  out.set(new TextEncoder().encode(MAGIC));
  dv.setUint32(8, header.length, true);
  out.set(header, 12);
  let at = 12 + header.length;
  for (const a of arrays) {
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
    at += a.byteLength;
  }
  dv.setUint32(at, crc32(out.subarray(0, at)), true);
  return out;
}

/** Reads {@link serializeReducer}'s bytes. @throws {@link FormatError} on a bad magic, size or checksum. */
export function deserializeReducer(bytes: Uint8Array, source = 'reducer file'): ReducerState {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = bytes.length - 4;
  if (bytes.length < 16 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) throw new FormatError(`deserializeReducer: ${source} is not a cbir reducer file.`);
  if (crc32(bytes.subarray(0, end)) !== dv.getUint32(end, true)) throw new FormatError(`deserializeReducer: ${source} fails its checksum (truncated or corrupted).`);
  const headerLen = dv.getUint32(8, true);
  const h = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + headerLen)));
  let at = 12 + headerLen;
  const take = (n: number) => {
    const a = new Float32Array(bytes.slice(at, at + n * 4).buffer);
    at += n * 4;
    return a;
  };
  const mean = take(h.meanLength);
  const components = take(h.componentsLength);
  if (at !== end) throw new FormatError(`deserializeReducer: ${source} has the wrong size.`);
  const { meanLength, componentsLength, ...rest } = h;
  return { ...rest, ...(meanLength ? { mean } : {}), ...(componentsLength ? { components } : {}) };
}
