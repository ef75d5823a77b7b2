import * as tf from '@tensorflow/tfjs-core';
import { FormatError } from '../errors.js';
import { crc32 } from '../io/crc32.js';
import type { Autoencoder } from '../models/autoencoder.js';
import { ConvAutoencoder } from '../models/conv-autoencoder.js';
import { ConvAutoencoderV2 } from '../models/conv-autoencoder-v2.js';

/** cbir's metadata in a saved model (`userDefinedMetadata.cbir` of its `model.json`). */
export interface ModelMetadata {
  architecture: 'ConvAutoencoder' | 'ConvAutoencoderV2';
  inputSize: number;
  /** Anything else to keep with the model (training history, reducer state, ...). */
  [key: string]: unknown;
}

const CLASSES = { ConvAutoencoder, ConvAutoencoderV2 } as const;
/** The largest input size a saved model may declare (4x the notebook's 512): a bound on what loading allocates. */
const MAX_INPUT_SIZE = 2048;

/**
 * A model as tfjs artifacts (topology, weight specs and data) carrying cbir's metadata: what every model file, tfjs
 * save handler (`indexeddb://`, `downloads://`) and {@link modelToFiles} start from.
 *
 * @example
 * ```ts
 * const artifacts = await modelToArtifacts(ae, { bestValLoss: 0.01 });
 * await tf.io.getSaveHandlers('indexeddb://my-model')[0].save(artifacts);
 * ```
 */
export async function modelToArtifacts(
  model: Autoencoder,
  extra: Record<string, unknown> = {},
): Promise<tf.io.ModelArtifacts> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const data = artifacts!.weightData!;
  // The weights' checksum, checked on load: a flipped bit in weights.bin is an error, not a silently different model.
  const weightsCrc32 = crc32(Array.isArray(data) ? concat(data) : new Uint8Array(data));
  const cbir: ModelMetadata = {
    ...extra,
    architecture: model.architecture.name as ModelMetadata['architecture'],
    inputSize: model.inputSize,
    weightsCrc32,
  };
  return { ...artifacts!, userDefinedMetadata: { cbir } };
}

/**
 * Rebuilds a model from {@link modelToArtifacts}'s artifacts (from any tfjs load handler), checking the metadata, the
 * number, shapes and dtype of the weights, and the size of the weight data.
 *
 * @param source - Named in every error message.
 * @throws {@link FormatError} when the artifacts are not a cbir model or do not match its architecture.
 * @example
 * ```ts
 * const artifacts = await tf.io.getLoadHandlers('indexeddb://my-model')[0].load();
 * const { model, metadata } = modelFromArtifacts(artifacts, 'indexeddb://my-model');
 * ```
 */
export function modelFromArtifacts(
  artifacts: tf.io.ModelArtifacts,
  source = 'model',
): { model: Autoencoder; metadata: ModelMetadata } {
  const fail = (what: string): never => {
    throw new FormatError(
      `loadModel: ${source} ${what}. Save it with saveModel (cbir-node) or saveModelToIndexedDb (cbir-browser).`,
    );
  };
  const meta = (artifacts.userDefinedMetadata as { cbir?: ModelMetadata } | undefined)?.cbir;
  if (!meta || !Object.hasOwn(CLASSES, meta.architecture)) fail('has no cbir metadata (architecture and inputSize)');
  if (!Number.isInteger(meta!.inputSize) || meta!.inputSize < 1 || meta!.inputSize > MAX_INPUT_SIZE) {
    fail(`says inputSize ${String(meta!.inputSize)}; expected an integer from 1 to ${MAX_INPUT_SIZE}`);
  }
  const specs = artifacts.weightSpecs ?? [];
  const data = artifacts.weightData;
  const bytes = data === undefined ? new Uint8Array(0) : Array.isArray(data) ? concat(data) : new Uint8Array(data);
  const expected = specs.reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1) * 4, 0);
  if (specs.some((s) => s.dtype !== 'float32') || bytes.length !== expected) {
    fail(`lists ${expected} bytes of float32 weights but holds ${bytes.length} (truncated or mismatched)`);
  }
  if (meta!.weightsCrc32 !== undefined && crc32(bytes) !== meta!.weightsCrc32)
    fail('has weights that fail their checksum (weights.bin is corrupted or from another model)');
  const model = new CLASSES[meta!.architecture]({ inputSize: meta!.inputSize });
  try {
    const weights = model.model.weights;
    if (weights.length !== specs.length)
      fail(`has ${specs.length} weights, ${meta!.architecture} has ${weights.length}`);
    const values = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    // Everything is checked before a tensor is made, so a bad file leaks nothing.
    const offsets: number[] = [];
    let at = 0;
    specs.forEach((s, i) => {
      if (s.shape.join(',') !== weights[i].shape.join(','))
        fail(`weight ${s.name} has shape [${s.shape}], expected [${weights[i].shape}]`);
      const n = s.shape.reduce((x, y) => x * y, 1);
      const bad = values.subarray(at, at + n).findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) fail(`has ${values[at + bad]} in weight ${s.name} at index ${bad}; weights must be finite`);
      offsets.push(at);
      at += n;
    });
    const tensors = specs.map((s, i) =>
      tf.tensor(values.subarray(offsets[i], offsets[i] + s.shape.reduce((x, y) => x * y, 1)), s.shape),
    );
    model.model.setWeights(tensors);
    tf.dispose(tensors);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return { model, metadata: meta! };
}

/**
 * The two files of tfjs's model format, `model.json` (topology, weights manifest, cbir metadata) and `weights.bin`:
 * what cbir-node writes to a folder and cbir-browser offers as downloads, loadable by `tf.loadLayersModel` too.
 *
 * @example
 * ```ts
 * const { json, weights } = await modelToFiles(ae);   // Uint8Arrays for model.json and weights.bin
 * ```
 */
export async function modelToFiles(
  model: Autoencoder,
  extra: Record<string, unknown> = {},
): Promise<{ json: Uint8Array; weights: Uint8Array }> {
  const a = await modelToArtifacts(model, extra);
  const json = {
    format: 'layers-model',
    generatedBy: `TensorFlow.js tfjs-layers v${tf.version_core}`,
    convertedBy: 'cbir',
    modelTopology: a.modelTopology,
    weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }],
    userDefinedMetadata: a.userDefinedMetadata,
  };
  const data = a.weightData!;
  return {
    json: new TextEncoder().encode(JSON.stringify(json)),
    weights: Array.isArray(data) ? concat(data) : new Uint8Array(data),
  };
}

/**
 * Reads {@link modelToFiles}'s two files back into a model.
 *
 * @param readWeights - Reads the weights file the manifest names (e.g. `weights.bin` beside `model.json`).
 * @throws {@link FormatError} naming `source` when the JSON is not a cbir model or the weights do not match.
 * @example
 * ```ts
 * const { model } = await modelFromFiles(jsonBytes, async (name) => readFile(join(dir, name)), 'model/model.json');
 * ```
 */
export async function modelFromFiles(
  json: Uint8Array,
  readWeights: (path: string) => Promise<Uint8Array>,
  source = 'model.json',
): Promise<{ model: Autoencoder; metadata: ModelMetadata }> {
  let parsed: {
    modelTopology?: unknown;
    weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
    userDefinedMetadata?: tf.io.ModelArtifacts['userDefinedMetadata'];
  };
  try {
    parsed = JSON.parse(new TextDecoder().decode(json));
  } catch (e) {
    throw new FormatError(`loadModel: ${source} is not JSON (${(e as Error).message}).`, { cause: e });
  }
  if (parsed === null || typeof parsed !== 'object')
    throw new FormatError(`loadModel: ${source} is not a model.json (a JSON object).`);
  const manifest = Array.isArray(parsed.weightsManifest) ? parsed.weightsManifest[0] : undefined;
  const path = Array.isArray(manifest?.paths) ? manifest.paths[0] : 'weights.bin';
  if (typeof path !== 'string')
    throw new FormatError(`loadModel: ${source} names its weights with ${JSON.stringify(path)}; expected a file name.`);
  if (manifest && !Array.isArray(manifest.weights))
    throw new FormatError(`loadModel: ${source} has a weights manifest without a list of weights.`);
  let weights: Uint8Array;
  try {
    weights = await readWeights(path);
  } catch (e) {
    throw new FormatError(`loadModel: ${source} refers to ${path}, which cannot be read (${(e as Error).message}).`, {
      cause: e,
    });
  }
  return modelFromArtifacts(
    {
      modelTopology: parsed.modelTopology as object,
      weightSpecs: manifest?.weights ?? [],
      weightData: weights.slice().buffer,
      userDefinedMetadata: parsed.userDefinedMetadata,
    },
    source,
  );
}

function concat(parts: ArrayBuffer[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(new Uint8Array(p), at);
    at += p.byteLength;
  }
  return out;
}
