import {
  AutoencoderExtractor,
  CbirError,
  createExtractor,
  extractOne,
  readModelFingerprint,
  pipelineMismatch,
  type Autoencoder,
  type QueryEmbedder,
  type Retriever,
  type RawImage,
  type TfjsModel,
  type ReducerState,
} from 'cbir-core';
import { loadOpenCv } from '../features/load-opencv.js';
import { sharpDecoder } from '../image/sharp-decoder.js';

export type { QueryEmbedder } from 'cbir-core';

/** The model that embedded an index's collection, for {@link openQueryEmbedder}; loaded by the caller. */
export interface QueryModel {
  /**
   * The autoencoder (an index of autoencoder vectors) or the tfjs model (an index of `tfjs-model` features) that made
   * the collection's vectors; none for an extractor cbir runs itself (see {@link queryNeedsModel}). The embedder
   * takes it over: its `dispose` frees the model.
   */
  model?: Autoencoder | TfjsModel;
  /** How messages name the model (its path, say). @defaultValue 'the model' */
  name?: string;
  /**
   * The reducer to apply for an index that does not record its pipeline (one written before pipelines were saved
   * with indexes); ignored when the index records one.
   * @defaultValue no reduction: the whole latent
   */
  reducer?: ReducerState;
}

/**
 * Whether queries for this index need a model (its vectors came from an autoencoder or a tfjs model, not from an
 * extractor cbir runs itself).
 *
 * @example
 * ```ts
 * if (queryNeedsModel(retriever)) console.log('pass the model that embedded the collection');
 * ```
 */
export function queryNeedsModel(retriever: Pick<Retriever, 'extractor'>): boolean {
  return !retriever.extractor || retriever.extractor.kind === 'tfjs-model';
}

/**
 * Opens what embeds new images for a retriever's index: the hand-crafted extractor saved with it (colour histograms, fused blocks,
 * bag of words), a tfjs model's extractor over `query.model`, or the autoencoder `query.model` with the reducer the
 * index records. The one code path of `cbir search --query` and `cbir serve`. A model with other weights than the one
 * that embedded the collection is refused; so is a vector of another dimension than the index's.
 *
 * @param query The model that embedded the collection, loaded (see {@link queryNeedsModel}); the embedder disposes it
 *   and runs on the tfjs backend it was loaded on (choose it first, with {@link initNodeBackend}).
 * @param warn Where a note goes when an old index does not record its pipeline.
 *
 * @example
 * ```ts
 * const retriever = await loadRetriever('exact.cbirindex');
 * const { model } = await loadModel('model');
 * retriever.embedder = await openQueryEmbedder(retriever, { model, name: 'model' });
 * const hits = await retriever.query(['new-photo.jpg'], 10);
 * retriever.dispose();
 * ```
 */
export async function openQueryEmbedder(
  retriever: Pick<Retriever, 'index' | 'pipeline' | 'extractor' | 'source'>,
  query: QueryModel,
  warn: (message: string) => void = () => undefined,
): Promise<QueryEmbedder> {
  const { index, pipeline, extractor, source } = retriever;
  const name = query.name ?? 'the model';
  const given = query.model;
  const isAutoencoder = given !== undefined && 'latentShape' in given;
  if (extractor) {
    const needsModel = extractor.kind === 'tfjs-model';
    if (given && !needsModel)
      throw new CbirError(
        'INVALID_ARGUMENT',
        `${source} holds ${extractor.kind} features, which cbir extracts itself: open it without a model.`,
      );
    if (needsModel && (!given || isAutoencoder))
      throw new CbirError(
        'INVALID_ARGUMENT',
        `${source} holds features of a tfjs model${extractor.options.source ? ` (${String(extractor.options.source)})` : ''}: pass that model (loadTfjsModel).`,
      );
    const model = needsModel ? (given as TfjsModel) : undefined;
    const cv = extractor.kind === 'bow' ? await loadOpenCv() : undefined;
    const fx = await createExtractor(extractor, { model, cv });
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
      description: `${extractor.kind} features${model ? ` (${name})` : ''}`,
      dim: index.dim,
      embed,
      embedMany: (images) => settleLimited(images, 1, embed),
      dispose() {
        fx.dispose();
        model?.dispose?.();
      },
    };
  }
  if (!given || !isAutoencoder)
    throw new CbirError(
      'INVALID_ARGUMENT',
      `a query image needs the autoencoder that embedded ${source}: load it (loadModel, or loadTorchWeights into its network) and pass it.`,
    );
  const model = given as Autoencoder;
  // Read only to check the model against a recorded pipeline (it reads every weight); the extractor takes it as given.
  const fingerprint = pipeline ? await readModelFingerprint(model) : undefined;
  let reducer: ReducerState;
  if (pipeline) {
    const why = pipelineMismatch(pipeline, {
      architecture: model.architecture.name,
      inputSize: model.inputSize,
      model: fingerprint!,
    });
    if (why) {
      model.dispose();
      throw new CbirError(
        'INVALID_ARGUMENT',
        `${name} is not the model that embedded ${source}: ${why}. Pass that model, or embed and index the collection again with this one.`,
      );
    }
    reducer = pipeline.reducer;
  } else {
    reducer = query.reducer ?? {
      kind: 'none',
      latentShape: [...model.latentShape] as [number, number, number],
      dim: model.latentDim,
    };
    warn(
      `${source} does not record the model and reducer that made it; using ${query.reducer ? `the reducer given (${query.reducer.kind})` : 'no reducer'}. Rebuild the index (cbir embed, then cbir index) so that queries are checked.`,
    );
  }
  if (reducer.dim !== index.dim) {
    model.dispose();
    throw new CbirError(
      'INVALID_ARGUMENT',
      `the query would be a ${reducer.dim}-d vector; ${source} holds ${index.dim}-d vectors. Pass the model and reducer that built the index.`,
    );
  }
  // The collection's reducer applied as the extractor family applies it: one path from an image to a vector.
  let fx: AutoencoderExtractor;
  try {
    fx = new AutoencoderExtractor(model, reducer, fingerprint);
  } catch (e) {
    model.dispose();
    throw e;
  }
  const decoder = sharpDecoder({ size: model.inputSize });
  const embedMany = async (images: readonly (string | Uint8Array)[]): Promise<PromiseSettledResult<Float32Array>[]> => {
    const decoded = await settleLimited(images, DECODE_CONCURRENCY, (image) => decoder.decode(image));
    const ok = decoded.flatMap((d, i) => (d.status === 'fulfilled' ? [i] : []));
    const out: PromiseSettledResult<Float32Array>[] = decoded.map((d) =>
      d.status === 'rejected' ? d : { status: 'rejected', reason: undefined },
    );
    if (ok.length === 0) return out;
    const vectors = await fx.extract(ok.map((i) => (decoded[i] as PromiseFulfilledResult<RawImage>).value));
    ok.forEach((i, row) => (out[i] = { status: 'fulfilled', value: vectors[row] }));
    return out;
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
