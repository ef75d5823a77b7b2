import * as tf from '@tensorflow/tfjs-core';
import { FormatError, WeightsMismatchError } from '../errors.js';
import type { Autoencoder } from '../models/autoencoder.js';
import { torchWeightShape, type TorchConvSpec } from '../models/torch-modules.js';
import { isSafetensors, readSafetensors, writeSafetensors } from './safetensors.js';
import { readTorchFile } from './torch-file.js';
import { TorchTensor } from './torch-tensor.js';
import { isZip } from './zip.js';

/** Options of {@link loadTorchWeights}. */
export interface LoadTorchWeightsOptions {
  /**
   * Reject files with missing keys, unexpected keys or wrong shapes (listing them all), like PyTorch's
   * `load_state_dict(strict=True)`. With `false`, matching tensors load and the rest are reported in the result.
   * @defaultValue true
   */
  strict?: boolean;
  /** A name for the source (a file path) used in error messages. */
  source?: string;
}

/** What {@link loadTorchWeights} found and loaded. */
export interface LoadTorchWeightsResult {
  /** `safetensors`, a `torch.save` checkpoint dict (with `model_state_dict`), or a bare `torch.save`d state dict. */
  format: 'safetensors' | 'torch-checkpoint' | 'torch-state-dict';
  /** State-dict keys loaded into the model. */
  loaded: string[];
  /** Problems found (empty when strict, since strict throws instead). */
  problems: string[];
  /** The checkpoint's `epoch`, when it has one. */
  epoch?: number;
  /** The checkpoint's `loss`, when it has one. */
  loss?: number;
  /** The checkpoint's other entries (e.g. `optimizer_state_dict`), as read: dicts are `Map`s, tensors {@link TorchTensor}. */
  extra: Map<string, unknown>;
}

/**
 * Reads a PyTorch state dict from the bytes of a safetensors file or a `torch.save` file: a bare
 * `model.state_dict()` or a checkpoint dict holding `model_state_dict` (the notebook's
 * `{'epoch', 'model_state_dict', 'optimizer_state_dict', 'loss'}`).
 *
 * @throws {@link FormatError} if the bytes are neither format, or do not contain a state dict.
 *
 * @example
 * ```ts
 * const { format, stateDict } = readTorchStateDict(await readFile('autoencoder_checkpoint.pth'));
 * console.log(format, [...stateDict.keys()]);
 * ```
 */
export function readTorchStateDict(
  bytes: Uint8Array,
  source = 'weights',
): Omit<LoadTorchWeightsResult, 'loaded' | 'problems'> & { stateDict: Map<string, TorchTensor> } {
  if (isSafetensors(bytes)) {
    return { format: 'safetensors', stateDict: readSafetensors(bytes, source).tensors, extra: new Map() };
  }
  if (!isZip(bytes) && !(bytes.length > 2 && bytes[0] === 0x80)) {
    throw new FormatError(
      `loadTorchWeights: ${source} is neither a safetensors file nor a torch.save zip archive ` +
        `(it starts with bytes ${Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ')}). ` +
        'Save the weights with torch.save(model.state_dict(), path) or safetensors.torch.save_file.',
    );
  }
  const root = readTorchFile(bytes, source);
  if (!(root instanceof Map)) throw new FormatError(`loadTorchWeights: ${source} holds a ${typeof root}, not a dict; expected a state dict or a checkpoint dict.`);
  const isStateDict = (m: Map<unknown, unknown>) => m.size > 0 && [...m.values()].every((v) => v instanceof TorchTensor);
  const nested = root.get('model_state_dict') ?? root.get('state_dict');
  if (nested instanceof Map) {
    const extra = new Map<string, unknown>([...root].filter(([k]) => k !== 'model_state_dict' && k !== 'state_dict').map(([k, v]) => [String(k), v]));
    const epoch = root.get('epoch');
    const loss = root.get('loss');
    return {
      format: 'torch-checkpoint',
      stateDict: nested as Map<string, TorchTensor>,
      epoch: typeof epoch === 'number' ? epoch : undefined,
      loss: typeof loss === 'number' ? loss : loss instanceof TorchTensor ? loss.toFloat32()[0] : undefined,
      extra,
    };
  }
  if (isStateDict(root)) return { format: 'torch-state-dict', stateDict: root as Map<string, TorchTensor>, extra: new Map() };
  throw new FormatError(
    `loadTorchWeights: ${source} is a dict with keys [${[...root.keys()].join(', ')}] but no 'model_state_dict' and not a state dict itself.`,
  );
}

/**
 * Loads PyTorch weights into a {@link ConvAutoencoder} or {@link ConvAutoencoderV2}: safetensors, or a `torch.save`
 * file (state dict or the notebook's checkpoint dict). No Python is involved: the zip archive and the pickle are read
 * in TypeScript. Layouts are converted: Conv2d `[O, I, kH, kW]` -> tfjs `[kH, kW, I, O]`; ConvTranspose2d
 * `[I, O, kH, kW]` -> tfjs `[kH, kW, O, I]`.
 *
 * @param model - The autoencoder to fill; its architecture decides the expected keys and shapes.
 * @param bytes - The file's bytes.
 * @param options - `strict` (default true) and `source` (a name for messages).
 * @returns What was loaded, plus the checkpoint's epoch, loss and other entries when present.
 * @throws {@link WeightsMismatchError} (strict) listing every missing key, unexpected key and shape mismatch.
 * @throws {@link FormatError} if the bytes are not a readable weight file.
 *
 * @example
 * ```ts
 * import { readFile } from 'node:fs/promises';
 * import { ConvAutoencoder, loadTorchWeights } from 'cbir-core';
 *
 * const ae = new ConvAutoencoder();
 * const info = loadTorchWeights(ae, await readFile('autoencoder_checkpoint.pth'));
 * console.log(info.format, info.epoch); // 'torch-checkpoint', 19
 * ```
 */
export function loadTorchWeights(model: Autoencoder, bytes: Uint8Array, options: LoadTorchWeightsOptions = {}): LoadTorchWeightsResult {
  const strict = options.strict ?? true;
  const source = options.source ?? 'weights';
  const { stateDict, ...info } = readTorchStateDict(bytes, source);
  const problems: string[] = [];
  const expected = new Map<string, { spec: TorchConvSpec; shape: number[] }>();
  for (const [name, { spec }] of model.convLayers) {
    expected.set(`${name}.weight`, { spec, shape: torchWeightShape(spec) });
    expected.set(`${name}.bias`, { spec, shape: [spec.outChannels] });
  }
  for (const key of expected.keys()) if (!stateDict.has(key)) problems.push(`missing key "${key}"`);
  for (const key of stateDict.keys()) if (!expected.has(key)) problems.push(`unexpected key "${key}"`);
  for (const [key, { shape }] of expected) {
    const t = stateDict.get(key);
    if (t && t.shape.join(',') !== shape.join(',')) {
      problems.push(`"${key}" has shape [${t.shape.join(', ')}], the model expects [${shape.join(', ')}]`);
    }
  }
  if (strict && problems.length > 0) {
    throw new WeightsMismatchError(
      `loadTorchWeights: ${source} does not match ${model.architecture.name} (inputSize ${model.inputSize}): ` +
        `${problems.join('; ')}. Check that the file holds this model's state dict, or pass { strict: false } to load what matches.`,
      problems,
    );
  }
  const loaded: string[] = [];
  for (const [name, { spec, layer }] of model.convLayers) {
    const w = stateDict.get(`${name}.weight`);
    const b = stateDict.get(`${name}.bias`);
    const okW = w && w.shape.join(',') === torchWeightShape(spec).join(',');
    const okB = b && b.shape.join(',') === String(spec.outChannels);
    if (!okW || !okB) continue;
    const kernel = tf.tidy(() => tf.transpose(tf.tensor4d(w.toFloat32(), w.shape as [number, number, number, number]), [2, 3, 1, 0]));
    const bias = tf.tensor1d(b.toFloat32());
    layer.setWeights([kernel, bias]);
    tf.dispose([kernel, bias]);
    loaded.push(`${name}.weight`, `${name}.bias`);
  }
  return { ...info, loaded, problems };
}

/**
 * Exports the model's weights as a safetensors file with PyTorch's names and layouts, so that
 * `model.load_state_dict(safetensors.torch.load_file(path))` loads them in Python.
 *
 * @returns The safetensors bytes.
 *
 * @example
 * ```ts
 * import { writeFile } from 'node:fs/promises';
 * await writeFile('weights.safetensors', exportTorchWeights(ae));
 * ```
 */
export function exportTorchWeights(model: Autoencoder): Uint8Array {
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, { spec, layer }] of model.convLayers) {
    const [kernel, bias] = layer.getWeights();
    // tfjs [kH, kW, a, b] -> PyTorch [b, a, kH, kW]: the inverse of the permutation used on load.
    const w = tf.tidy(() => tf.transpose(kernel, [3, 2, 0, 1]));
    tensors.set(`${name}.weight`, { shape: torchWeightShape(spec), data: w.dataSync() as Float32Array });
    tensors.set(`${name}.bias`, { shape: [spec.outChannels], data: bias.dataSync() as Float32Array });
    w.dispose();
  }
  return writeSafetensors(tensors, { format: 'pt', architecture: model.architecture.name });
}
