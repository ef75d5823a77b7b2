import { FormatError } from '../errors.js';
import type { Framed } from '../io/framed-file.js';
import { crc32 } from '../io/crc32.js';
import type { Autoencoder } from '../models/autoencoder.js';
import type { ReducerState } from './reducer.js';

/**
 * What turned images into a set of features: the network (its architecture, input size and a fingerprint of its
 * weights) and the fitted reducer (with its L2 step). It travels with the features it made (feature files) and with
 * every index built from them, so a query is embedded exactly as the collection was, and a query through another
 * model or reducer is refused instead of answered with other images.
 */
export interface EmbeddingPipeline {
  architecture: string;
  inputSize: number;
  /** {@link modelFingerprint} of the weights. */
  model: string;
  reducer: ReducerState;
}

/**
 * A fingerprint of a model's weights: the CRC-32 of every weight's float32 values in order, with the count, as hex.
 * The same weights give the same fingerprint whether they came from a cbir model folder or a PyTorch file.
 *
 * @example
 * ```ts
 * modelFingerprint(model);   // e.g. 'c0ffee12-20'
 * ```
 */
export function modelFingerprint(model: Autoencoder): string {
  return fingerprintOf(model.model.getWeights().map((w) => w.dataSync() as Float32Array));
}

/**
 * {@link modelFingerprint}, read asynchronously: works on every backend (WebGPU in Node has no synchronous reads).
 *
 * @example
 * ```ts
 * await readModelFingerprint(model);   // the same string as modelFingerprint(model)
 * ```
 */
export async function readModelFingerprint(model: Autoencoder): Promise<string> {
  return fingerprintOf(await Promise.all(model.model.getWeights().map(async (w) => (await w.data()) as Float32Array)));
}

/** The CRC-32 of the weights' float32 values in order, with their count. */
function fingerprintOf(chunks: Float32Array[]): string {
  let total = 0;
  for (const c of chunks) total += c.byteLength;
  const all = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    all.set(new Uint8Array(c.buffer, c.byteOffset, c.byteLength), at);
    at += c.byteLength;
  }
  return `${crc32(all).toString(16).padStart(8, '0')}-${chunks.length}`;
}

/**
 * The pipeline's JSON part and its arrays (the reducer's mean and components), for a framed file's header and body.
 * @internal
 */
export function pipelineToFramed(p: EmbeddingPipeline | undefined): { header: unknown; arrays: Float32Array[] } {
  if (!p) return { header: undefined, arrays: [] };
  const { mean, components, ...reducer } = p.reducer;
  return {
    header: { ...p, reducer: { ...reducer, meanLength: mean?.length ?? 0, componentsLength: components?.length ?? 0 } },
    arrays: [mean ?? new Float32Array(0), components ?? new Float32Array(0)],
  };
}

/**
 * Reads back {@link pipelineToFramed}'s header and arrays (taken next from `f`), checking its fields.
 * @internal
 */
export function pipelineFromFramed(
  header: unknown,
  f: Pick<Framed<unknown>, 'take'>,
  source: string,
): EmbeddingPipeline | undefined {
  if (header === undefined || header === null) return undefined;
  const h = header as EmbeddingPipeline & { reducer: ReducerState & { meanLength: number; componentsLength: number } };
  const r = h.reducer;
  const ok =
    typeof h.architecture === 'string' &&
    Number.isInteger(h.inputSize) &&
    typeof h.model === 'string' &&
    r &&
    typeof r.kind === 'string' &&
    Number.isInteger(r.dim) &&
    Number.isInteger(r.meanLength) &&
    r.meanLength >= 0 &&
    Number.isInteger(r.componentsLength) &&
    r.componentsLength >= 0;
  if (!ok)
    throw new FormatError(
      `${source} has a malformed embedding pipeline (model and reducer). Embed the collection again.`,
    );
  const { meanLength, componentsLength, ...reducer } = r;
  const mean = f.take(meanLength);
  const components = f.take(componentsLength);
  return {
    ...h,
    reducer: { ...reducer, ...(meanLength ? { mean } : {}), ...(componentsLength ? { components } : {}) },
  };
}

/**
 * Checks that a query goes through the network that made an index's features: the same architecture, input size and
 * weights (the reducer is the index's own). Returns what differs, or `undefined` when they match.
 *
 * @example
 * ```ts
 * const why = pipelineMismatch(index.pipeline!, { architecture, inputSize, model: modelFingerprint(model) });
 * if (why) throw new Error(`the query would be embedded differently: ${why}`);
 * ```
 */
export function pipelineMismatch(
  indexed: EmbeddingPipeline,
  query: Omit<EmbeddingPipeline, 'reducer'>,
): string | undefined {
  if (indexed.architecture !== query.architecture || indexed.inputSize !== query.inputSize) {
    return `the features were made by ${indexed.architecture} at ${indexed.inputSize} px, the query model is ${query.architecture} at ${query.inputSize} px`;
  }
  if (indexed.model !== query.model)
    return `the features were made by weights ${indexed.model}, the query model's weights are ${query.model}`;
  return undefined;
}
