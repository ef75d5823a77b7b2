import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  CbirError,
  createExtractor,
  deserializeReducer,
  extractOne,
  imagesToTensor,
  l2Normalize,
  readModelFingerprint,
  pipelineMismatch,
  reduceLatent,
  type AsyncIndex,
  type Index,
  type RawImage,
  type ReducerState,
} from 'cbir-core';
import { initNodeBackend } from '../backend.js';
import { loadOpenCv } from '../features/load-opencv.js';
import { sharpDecoder } from '../image/sharp-decoder.js';
import { loadTfjsModel } from '../io/tfjs-model.js';
import { loadModelArg, reducerPathFor } from '../cli/model-args.js';

/** Turns a new image into a vector of an index's space, exactly as the index's collection was embedded. */
export interface QueryEmbedder {
  /** What embeds the queries, for messages and the search service's `/api/info`. */
  readonly description: string;
  /** The vectors' dimension (the index's). */
  readonly dim: number;
  /** The vector of one image, from a path or the file's bytes. Throws `ImageDecodeError` for what is not an image. */
  embed(image: string | Uint8Array): Promise<Float32Array>;
  /**
   * The vectors of several images, each as a lone {@link QueryEmbedder.embed} would give it (to float32 rounding): an
   * autoencoder encodes them as one batch, which costs far less per image. One image that fails does not fail the
   * others. At most 4 images are decoded at once.
   */
  embedMany(images: readonly (string | Uint8Array)[]): Promise<PromiseSettledResult<Float32Array>[]>;
  /** Frees the model's tensors. */
  dispose(): void;
}

/** Where the model comes from when the index was made by one: `--model` and, for a PyTorch file, `--arch`/`--size`. */
export interface QueryModelArgs {
  /** A model folder saved by cbir, or a PyTorch checkpoint (`.pt`); absent when the index needs no model. */
  model?: string;
  /** For a `.pt` file: the notebook's network, `'v1'` or `'v2'`. @defaultValue 'v2' */
  arch?: string;
  /** For a `.pt` file: the input side in pixels, as a string (the CLI's `--size`). @defaultValue '512' (the notebook's) */
  size?: string;
}

/**
 * Whether queries for this index need a model (its vectors came from an autoencoder or a tfjs model, not from an
 * extractor cbir runs itself).
 *
 * @example
 * ```ts
 * if (queryNeedsModel(index)) console.log('pass the model that embedded the collection');
 * ```
 */
export function queryNeedsModel(index: Pick<Index | AsyncIndex, 'extractor'>): boolean {
  return !index.extractor || index.extractor.kind === 'tfjs-model';
}

/**
 * Opens what embeds new images for `index`: the hand-crafted extractor saved in it (colour histograms, fused blocks,
 * bag of words), a tfjs model's extractor, or an autoencoder with the reducer the index records. The one code path of
 * `cbir search --query` and `cbir serve`. A model with other weights than the one that embedded the collection is
 * refused; so is a vector of another dimension than the index's.
 *
 * @param source How messages name the index.
 * @param warn Where a note goes when an old index does not record its pipeline.
 *
 * @example
 * ```ts
 * const index = await loadIndex('exact.cbirindex');
 * const embedder = await openQueryEmbedder(index, { model: 'model' }, 'exact.cbirindex');
 * const hits = index.search({ data: await embedder.embed('new-photo.jpg'), rows: 1, cols: index.dim }, 10);
 * embedder.dispose();
 * ```
 */
export async function openQueryEmbedder(
  index: Index | AsyncIndex,
  args: QueryModelArgs,
  source: string,
  warn: (message: string) => void = () => undefined,
): Promise<QueryEmbedder> {
  if (index.extractor) {
    const needsModel = index.extractor.kind === 'tfjs-model';
    if (args.model && !needsModel)
      throw new CbirError(
        'INVALID_ARGUMENT',
        `${source} holds ${index.extractor.kind} features, which cbir extracts itself: drop --model.`,
      );
    if (!args.model && needsModel)
      throw new CbirError(
        'INVALID_ARGUMENT',
        `${source} holds features of a tfjs model${index.extractor.options.source ? ` (${String(index.extractor.options.source)})` : ''}: pass it with --model DIR|model.json|URL.`,
      );
    if (needsModel) await initNodeBackend();
    const model = needsModel
      ? await loadTfjsModel(/^https?:/.test(args.model!) ? args.model! : resolve(args.model!))
      : undefined;
    const cv = index.extractor.kind === 'bow' ? await loadOpenCv() : undefined;
    const fx = await createExtractor(index.extractor, { model, cv });
    const decoder = sharpDecoder(fx.imageSize === 'original' ? {} : { size: fx.imageSize });
    const embed = async (image: string | Uint8Array) => {
      const vector = await extractOne(fx, await decoder.decode(image));
      if (vector.length !== index.dim)
        throw new CbirError(
          'INVALID_ARGUMENT',
          `the query's features have ${vector.length} values; ${source} holds ${index.dim}-d vectors. Extract and index the collection again.`,
        );
      return vector;
    };
    return {
      description: `${index.extractor.kind} features${model ? ` (${args.model})` : ''}`,
      dim: index.dim,
      embed,
      embedMany: (images) => settleLimited(images, 1, embed),
      dispose() {
        fx.dispose();
        model?.dispose?.();
      },
    };
  }
  if (!args.model)
    throw new CbirError(
      'INVALID_ARGUMENT',
      `a query image needs --model DIR|FILE.pt: the model that embedded ${source}.`,
    );
  await initNodeBackend();
  const modelPath = resolve(args.model);
  const { model, isDir } = await loadModelArg(modelPath, { arch: args.arch, size: args.size });
  let reducer: ReducerState;
  if (index.pipeline) {
    const why = pipelineMismatch(index.pipeline, {
      architecture: model.architecture.name,
      inputSize: model.inputSize,
      model: await readModelFingerprint(model),
    });
    if (why) {
      model.dispose();
      throw new CbirError(
        'INVALID_ARGUMENT',
        `--model ${modelPath} is not the model that embedded ${source}: ${why}. Pass that model, or embed and index the collection again with this one.`,
      );
    }
    reducer = index.pipeline.reducer;
  } else {
    // An index from before pipelines were saved with it: the reducer that cbir embed then kept beside the model.
    const reducerPath = reducerPathFor(modelPath, isDir);
    const kept = existsSync(reducerPath);
    reducer = kept
      ? deserializeReducer(new Uint8Array(await readFile(reducerPath)), reducerPath)
      : { kind: 'none', latentShape: [...model.latentShape] as [number, number, number], dim: model.latentDim };
    warn(
      `${source} does not record the model and reducer that made it; using ${kept ? reducerPath : 'no reducer'}. Rebuild the index (cbir embed, then cbir index) so that queries are checked.`,
    );
  }
  if (reducer.dim !== index.dim) {
    model.dispose();
    throw new CbirError(
      'INVALID_ARGUMENT',
      `the query would be a ${reducer.dim}-d vector; ${source} holds ${index.dim}-d vectors. Pass the model and reducer that built the index.`,
    );
  }
  const decoder = sharpDecoder({ size: model.inputSize });
  const embedMany = async (images: readonly (string | Uint8Array)[]): Promise<PromiseSettledResult<Float32Array>[]> => {
    const decoded = await settleLimited(images, DECODE_CONCURRENCY, (image) => decoder.decode(image));
    const ok = decoded.flatMap((d, i) => (d.status === 'fulfilled' ? [i] : []));
    const out: PromiseSettledResult<Float32Array>[] = decoded.map((d) =>
      d.status === 'rejected' ? d : { status: 'rejected', reason: undefined },
    );
    if (ok.length === 0) return out;
    const z = tf.tidy(() =>
      model.encode(
        imagesToTensor(
          ok.map((i) => (decoded[i] as PromiseFulfilledResult<RawImage>).value),
          model.inputSize,
        ),
      ),
    );
    try {
      const latent = (await z.data()) as Float32Array;
      const per = latent.length / ok.length;
      ok.forEach((i, row) => {
        const vector = reduceLatent(latent.subarray(row * per, (row + 1) * per), reducer);
        if (reducer.l2) l2Normalize(vector);
        out[i] = { status: 'fulfilled', value: vector };
      });
      return out;
    } finally {
      z.dispose();
    }
  };
  return {
    description: `${model.architecture.name} at ${model.inputSize} px${reducer.kind === 'none' ? '' : `, ${reducer.kind} to ${reducer.dim}-d`}`,
    dim: index.dim,
    async embed(image) {
      const [r] = await embedMany([image]);
      if (r.status === 'rejected') throw r.reason;
      return r.value;
    },
    embedMany,
    dispose: () => model.dispose(),
  };
}

/** Images decoded at once by {@link QueryEmbedder.embedMany}: bounds the memory of a batch of large uploads. */
const DECODE_CONCURRENCY = 4;

/** `fn` over `items`, at most `limit` at a time, each result settled (one failure does not stop the others). */
async function settleLimited<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<PromiseSettledResult<R>[]> {
  const out: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) {
      try {
        out[i] = { status: 'fulfilled', value: await fn(items[i]) };
      } catch (reason) {
        out[i] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
