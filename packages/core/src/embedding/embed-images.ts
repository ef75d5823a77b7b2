import * as tf from '@tensorflow/tfjs-core';
import { CbirError, NonFiniteError, throwIfAborted } from '../errors.js';
import { readBatches } from '../data/read-batches.js';
import type { ImageDataset } from '../data/image-dataset.js';
import { imagesToPixels } from '../image/raw-image.js';
import type { Matrix } from '../matrix.js';
import type { Autoencoder } from '../models/autoencoder.js';
import type { LongRunning } from '../progress.js';
import { PCA } from '../decomposition/pca.js';
import { projectionMatrix } from '../decomposition/random-projection.js';
import { parseReduce, projectPca, reduceLatent, type ReduceSpec, type ReducerState } from './reducer.js';
import { scaleToUnit } from '../compute/normalize.js';

/** Options of {@link embedImages}. */
export interface EmbedOptions extends LongRunning {
  /** Images decoded and encoded per model call. @defaultValue 32 */
  batchSize?: number;
  /** How latents become features. @defaultValue 'none' (the notebook's flattened latent) */
  reduce?: ReduceSpec;
  /** A reducer fitted before (e.g. on the indexed collection), to embed queries the same way. Overrides `reduce`. */
  reducer?: ReducerState;
  /** Scale each feature vector to unit L2 norm. @defaultValue false */
  l2?: boolean;
  /** Seed of `rp` and of `pca`'s randomized solver. @defaultValue 0 */
  seed?: number;
  /**
   * Encodes a batch: NHWC pixels `[n, s, s, 3]` -> NHWC latents. Defaults to `model.encode` on the active backend;
   * cbir-node passes an `EncoderPool` to use every core.
   */
  encode?: (pixels: Float32Array, n: number) => Promise<Float32Array>;
}

/** Features of a dataset: one row per image that decoded. */
export interface Features {
  /** `[n, dim]`, row-major. */
  matrix: Matrix;
  ids: string[];
  labels: (string | undefined)[];
  /** Ids of the items that failed to decode and were skipped. */
  skipped: string[];
  /** The fitted reducer, to embed queries with the same transform. */
  reducer: ReducerState;
}

/**
 * Scales `v` to unit L2 norm in place (a zero vector stays zero).
 *
 * @example
 * ```ts
 * const v = l2Normalize(Float32Array.of(3, 4)); // [0.6, 0.8]
 * ```
 */
export function l2Normalize(v: Float32Array): Float32Array {
  scaleToUnit(v);
  return v;
}

/**
 * Embeds every image of a dataset with the model's encoder: decodes in batches (the next batch decodes while this one
 * encodes), encodes, and reduces each latent to a feature vector. Items that fail to decode are reported
 * (`warning` events) and skipped.
 *
 * @returns The `[n, dim]` features with ids and labels, and the fitted reducer (save it with the model).
 * @throws {@link CbirError} if the dataset's image size differs from the model's or `reduce` is malformed.
 *
 * @example
 * ```ts
 * const { matrix, ids, reducer } = await embedImages(ae, data, { reduce: 'avgpool', l2: true });
 * ```
 */
export async function embedImages(
  model: Autoencoder,
  data: ImageDataset,
  options: EmbedOptions = {},
): Promise<Features> {
  const { batchSize = 32, seed = 0, onProgress, signal } = options;
  const l2 = options.reducer?.l2 ?? options.l2 ?? false;
  if (data.imageSize !== model.inputSize) {
    throw new CbirError(
      'INVALID_ARGUMENT',
      `embedImages: the data's images are ${data.imageSize === undefined ? 'of their own sizes' : `${data.imageSize}x${data.imageSize}`}, the model takes ${model.inputSize}x${model.inputSize}. Load the data with size ${model.inputSize}.`,
    );
  }
  const latentShape = [...model.latentShape] as [number, number, number];
  const latentDim = model.latentDim;
  const spec = options.reducer
    ? { kind: options.reducer.kind, dim: options.reducer.dim }
    : parseReduce(options.reduce ?? 'none');
  const outDim = spec.kind === 'none' ? latentDim : spec.kind === 'avgpool' ? latentShape[0] : spec.dim!;
  const state: ReducerState = options.reducer ?? {
    kind: spec.kind,
    latentShape,
    dim: outDim,
    seed: spec.kind === 'rp' ? seed : undefined,
  };
  if (state.latentShape.join() !== latentShape.join()) {
    throw new CbirError(
      'INVALID_ARGUMENT',
      `embedImages: the reducer was fitted on latents [${state.latentShape}], this model gives [${latentShape}].`,
    );
  }
  const projection = state.kind === 'rp' ? projectionMatrix(latentDim, state.dim, state.seed ?? 0) : undefined;
  const fitLater = state.kind === 'pca' && !state.components;
  const encode =
    options.encode ??
    (async (pixels: Float32Array, n: number) => {
      const x = tf.tensor4d(pixels, [n, model.inputSize, model.inputSize, 3]);
      const z = model.encode(x);
      const out = (await z.data()) as Float32Array;
      tf.dispose([x, z]);
      return out;
    });

  const rows: Float32Array[] = [];
  const ids: string[] = [];
  const labels: (string | undefined)[] = [];
  const skipped: string[] = [];
  for await (const ok of readBatches(data, { batchSize, onProgress, signal, where: 'embedImages' }, skipped)) {
    if (!ok.length) continue;
    const pixels = imagesToPixels(
      ok.map((b) => b.image),
      model.inputSize,
    );
    const latents = await encode(pixels, ok.length);
    throwIfAborted(signal, 'embedImages');
    ok.forEach((b, k) => {
      const latent = latents.subarray(k * latentDim, (k + 1) * latentDim);
      const bad = latent.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0)
        throw new NonFiniteError(
          `embedImages: the encoder gave ${latent[bad]} for ${b.entry.id} (latent index ${bad}); check the model's weights.`,
        );
      rows.push(
        fitLater
          ? reduceLatent(latent, { ...state, kind: 'none', dim: latentDim })
          : reduceLatent(latent, state, projection),
      );
      ids.push(b.entry.id);
      labels.push(b.entry.label);
    });
  }

  if (rows.length === 0) {
    throw new CbirError(
      'IMAGE_DECODE',
      `embedImages: none of the ${data.size} images could be decoded (${skipped.slice(0, 3).join(', ')}${skipped.length > 3 ? ', ...' : ''}); there is nothing to embed.`,
    );
  }
  let dim = fitLater ? latentDim : state.dim;
  let flat = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => flat.set(r, i * dim));
  if (fitLater) {
    const pca = await new PCA({ nComponents: state.dim, randomState: seed }).fit({
      data: flat,
      rows: rows.length,
      cols: dim,
    });
    state.mean = pca.mean;
    state.components = pca.components.data;
    const reduced = new Float32Array(rows.length * state.dim);
    rows.forEach((r, i) => projectPca(r, state, reduced.subarray(i * state.dim, (i + 1) * state.dim)));
    flat = reduced;
    dim = state.dim;
  }
  if (l2) for (let i = 0; i < ids.length; i++) l2Normalize(flat.subarray(i * dim, (i + 1) * dim));
  return { matrix: { data: flat, rows: ids.length, cols: dim }, ids, labels, skipped, reducer: { ...state, l2 } };
}
