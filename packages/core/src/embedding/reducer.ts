import { CbirError } from '../errors.js';
import { readFramed, writeFramed } from '../io/framed-file.js';
import { AveragePooling } from '../decomposition/average-pooling.js';
import { PCA } from '../decomposition/pca.js';
import { projectionMatrix, projectRows } from '../decomposition/random-projection.js';

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
  /** `rp`: the seed of the projection matrix (regenerated, not stored); absent for other kinds. */
  seed?: number;
  /** `pca`: the mean of the training features, length `c * h * w`; absent for other kinds. */
  mean?: Float32Array;
  /** `pca`: the components, `[dim, c * h * w]` row-major; absent for other kinds. */
  components?: Float32Array;
  /** Whether features were scaled to unit L2 norm after reduction. @defaultValue false */
  l2?: boolean;
}

/**
 * Parses a {@link ReduceSpec}, listing the valid forms when it is wrong.
 *
 * @example
 * ```ts
 * parseReduce('pca:256');   // { kind: 'pca', dim: 256 }
 * parseReduce('avgpool');   // { kind: 'avgpool' }
 * ```
 */
export function parseReduce(spec: string): { kind: ReducerState['kind']; dim?: number } {
  if (spec === 'none' || spec === 'avgpool') return { kind: spec };
  const m = /^(rp|pca):(\d+)$/.exec(spec);
  if (!m || Number(m[2]) < 1) {
    throw new CbirError(
      'INVALID_ARGUMENT',
      `reduce: "${spec}" is not a reducer. Use none, avgpool, rp:N or pca:N (N a positive integer), e.g. rp:256.`,
    );
  }
  return { kind: m[1] as 'rp' | 'pca', dim: Number(m[2]) };
}

/**
 * Converts NHWC latents of one image (`[h, w, c]`, row-major) to the `[c, h, w]` flattening PyTorch's `.flatten()` gives.
 *
 * @example
 * ```ts
 * const chw = latentToChw(latentNhwc, [8, 42, 42]); // PyTorch's flatten order, as the notebook's features
 * ```
 */
export function latentToChw(
  latent: Float32Array,
  [c, h, w]: readonly [number, number, number],
  out = new Float32Array(c * h * w),
): Float32Array {
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) out[(k * h + y) * w + x] = latent[(y * w + x) * c + k];
  return out;
}

/**
 * Reduces one image's NHWC latent with a fitted reducer (for `pca`, `state` must hold `mean` and `components`).
 *
 * @returns The feature vector, `state.dim` long.
 *
 * @example
 * ```ts
 * const feature = reduceLatent(latent, reducerState);   // Float32Array [reducerState.dim] (pass the projection for 'rp')
 * ```
 */
export function reduceLatent(latent: Float32Array, state: ReducerState, projection?: Float32Array): Float32Array {
  const [c, h, w] = state.latentShape;
  const one = (data: Float32Array) => ({ data, rows: 1, cols: data.length });
  if (state.kind === 'avgpool') return new AveragePooling({ shape: [h, w, c] }).transform(one(latent)).data;
  const flat = latentToChw(latent, state.latentShape);
  if (state.kind === 'none') return flat;
  const out = new Float32Array(state.dim);
  if (state.kind === 'rp') {
    const m = projection ?? projectionMatrix(flat.length, state.dim, state.seed ?? 0);
    return projectRows(one(flat), m, state.dim, out);
  }
  return projectPca(flat, state, out);
}

/** Projects a CHW-flattened latent on a fitted PCA reducer's components: `(x - mean) . components[j]`. */
export function projectPca(flat: Float32Array, state: ReducerState, out = new Float32Array(state.dim)): Float32Array {
  const { mean, components } = state;
  if (!mean || !components)
    throw new CbirError('NOT_FITTED', 'reduceLatent: the pca reducer has not been fitted. Embed a dataset first.');
  return PCA.fromState(mean, components).transform({ data: flat, rows: 1, cols: flat.length }, out).data;
}

const MAGIC = 'CBIRREDU';
const VERSION = 1;

/**
 * Serialises a fitted reducer as a framed cbir file (`CBIRREDU`): the JSON header, then `mean` and `components`.
 *
 * @example
 * ```ts
 * await writeFileAtomic('model/reducer.bin', serializeReducer(features.reducer));
 * ```
 */
export function serializeReducer(state: ReducerState): Uint8Array {
  const { mean, components, ...rest } = state;
  const header = { ...rest, meanLength: mean?.length ?? 0, componentsLength: components?.length ?? 0 };
  return writeFramed(MAGIC, VERSION, header, [mean ?? new Float32Array(0), components ?? new Float32Array(0)]);
}

/**
 * Reads {@link serializeReducer}'s bytes. @throws {@link FormatError} on a bad magic, version, size or checksum.
 *
 * @example
 * ```ts
 * const reducer = deserializeReducer(await readFile('model/reducer.bin'));
 * const q = await embedImages(model, queries, { reducer });   // embedded as the collection was
 * ```
 */
export function deserializeReducer(bytes: Uint8Array, source = 'reducer file'): ReducerState {
  const f = readFramed<ReducerState & { meanLength: number; componentsLength: number }>(
    bytes,
    MAGIC,
    VERSION,
    'deserializeReducer',
    source,
    'Embed the collection again to refit it.',
  );
  const { meanLength, componentsLength, ...rest } = f.header;
  const mean = f.take(meanLength);
  const components = f.take(componentsLength);
  f.end();
  return { ...rest, ...(meanLength ? { mean } : {}), ...(componentsLength ? { components } : {}) };
}
