import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { ConvAutoencoder, ConvAutoencoderV2, FormatError, type Autoencoder } from 'cbir-core';
import { writeFileAtomic } from './atomic-write.js';

/** cbir's metadata in a saved model's `model.json` (`userDefinedMetadata.cbir`). */
export interface ModelMetadata {
  architecture: 'ConvAutoencoder' | 'ConvAutoencoderV2';
  inputSize: number;
  /** Anything else to keep with the model (training history, reducer state, ...). */
  [key: string]: unknown;
}

const CLASSES = { ConvAutoencoder, ConvAutoencoderV2 } as const;

/**
 * Saves a model in tfjs's format (`model.json` + `weights.bin`, loadable by `tf.loadLayersModel`) with cbir's
 * metadata, each file written atomically.
 *
 * @param extra - More metadata to store (history, reducer state).
 *
 * @example
 * ```ts
 * await saveModel(ae, 'model/', { bestValLoss: 0.01 });   // model.json + weights.bin, loadable by tf.loadLayersModel
 * ```
 */
export async function saveModel(model: Autoencoder, dir: string, extra: Record<string, unknown> = {}): Promise<void> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.model.save(tf.io.withSaveHandler(async (a) => {
    artifacts = a;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  const a = artifacts!;
  const cbir: ModelMetadata = { ...extra, architecture: model.architecture.name as ModelMetadata['architecture'], inputSize: model.inputSize };
  const json = {
    format: 'layers-model',
    generatedBy: `TensorFlow.js tfjs-layers v${tf.version_core}`,
    convertedBy: 'cbir',
    modelTopology: a.modelTopology,
    weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }],
    userDefinedMetadata: { cbir },
  };
  const data = a.weightData as ArrayBuffer;
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(join(dir, 'weights.bin'), new Uint8Array(data));
  await writeFileAtomic(join(dir, 'model.json'), new TextEncoder().encode(JSON.stringify(json)));
}

/**
 * Loads a model saved by {@link saveModel}: rebuilds the architecture named in its metadata at its input size and
 * sets the weights, checking that names, shapes and byte sizes agree.
 *
 * @returns The model and its metadata.
 * @throws {@link FormatError} naming the file if it is missing, not cbir's, or inconsistent.
 *
 * @example
 * ```ts
 * const { model, metadata } = await loadModel('model/');
 * const z = model.encode(x);
 * ```
 */
export async function loadModel(dir: string): Promise<{ model: Autoencoder; metadata: ModelMetadata }> {
  const jsonPath = join(dir, 'model.json');
  const fail = (what: string, cause?: unknown): never => {
    throw new FormatError(`loadModel: ${jsonPath} ${what}. Train one with \`cbir train --out ${dir}\`.`, { cause });
  };
  const json = JSON.parse(new TextDecoder().decode(await readFile(jsonPath).catch((e) => fail('cannot be read', e)))) as {
    weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
    userDefinedMetadata?: { cbir?: ModelMetadata };
  };
  const meta = json.userDefinedMetadata?.cbir;
  if (!meta || !(meta.architecture in CLASSES)) fail('has no cbir metadata (architecture and inputSize)');
  const specs = json.weightsManifest?.[0]?.weights ?? [];
  const binPath = join(dir, json.weightsManifest?.[0]?.paths[0] ?? 'weights.bin');
  const bin = await readFile(binPath).catch((e) => fail(`refers to ${binPath}, which cannot be read`, e));
  const expectedBytes = specs.reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1) * 4, 0);
  if (specs.some((s) => s.dtype !== 'float32') || bin.length !== expectedBytes) {
    fail(`lists ${expectedBytes} bytes of float32 weights but ${binPath} has ${bin.length} (truncated or mismatched)`);
  }
  const model = new CLASSES[meta!.architecture]({ inputSize: meta!.inputSize });
  const weights = model.model.weights;
  if (weights.length !== specs.length) fail(`has ${specs.length} weights, ${meta!.architecture} has ${weights.length}`);
  const values = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength));
  let at = 0;
  const tensors = specs.map((s, i) => {
    if (s.shape.join(',') !== weights[i].shape.join(',')) fail(`weight ${s.name} has shape [${s.shape}], expected [${weights[i].shape}]`);
    const n = s.shape.reduce((x, y) => x * y, 1);
    const t = tf.tensor(values.subarray(at, at + n), s.shape);
    at += n;
    return t;
  });
  model.model.setWeights(tensors);
  tf.dispose(tensors);
  return { model, metadata: meta! };
}
