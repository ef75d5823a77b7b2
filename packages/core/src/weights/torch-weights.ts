import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { CbirError, FormatError, NonFiniteError, WeightsMismatchError } from '../errors.js';
import type { AdamSnapshot } from '../training/adam.js';
import type { Autoencoder } from '../models/autoencoder.js';
import { torchWeightShape } from '../models/torch-modules.js';
import { isSafetensors, readSafetensors, writeSafetensors } from '../io/safetensors.js';
import { PyFloat, PyTuple } from '../io/pickle.js';
import { orderedDict, readTorchFile, writeTorchFile } from '../io/torch-file.js';
import { TorchTensor } from '../io/torch-tensor.js';
import { isZip } from '../io/zip.js';

/** Options of {@link loadTorchWeights}. */
export interface LoadTorchWeightsOptions {
  /**
   * As PyTorch's `load_state_dict(strict=...)`. With `true`, a missing or an unexpected key is an error (listing them
   * all). With `false`, they are allowed and reported in the result (`missingKeys`, `unexpectedKeys`) and every key
   * the model has loads. A shape mismatch is an error either way, as in PyTorch.
   * @defaultValue true
   */
  strict?: boolean;
  /** A name for the source (a file path) used in error messages. @defaultValue 'weights' */
  source?: string;
}

/** The layouts a PyTorch weight file can have. */
export type TorchWeightsFormat =
  /** A safetensors file. */
  | 'safetensors'
  /** The notebook's final save, `{'epoch', 'model_state_dict', 'optimizer_state_dict', 'loss'}`. */
  | 'torch-checkpoint'
  /** The notebook's best-validation `ckpt_epoch_N.pt`, `{'epoch', 'state_dict', 'best_loss', 'optimizer_state_dict'}`. */
  | 'torch-epoch-checkpoint'
  /** A bare `torch.save(model.state_dict(), path)`. */
  | 'torch-state-dict';

/** What {@link loadTorchWeights} found and loaded. */
export interface LoadTorchWeightsResult {
  format: TorchWeightsFormat;
  /** State-dict keys loaded into the model, in state-dict order. */
  loaded: string[];
  /** Keys the model has and the file does not (empty when strict, since strict throws instead). */
  missingKeys: string[];
  /** Keys the file has and the model does not (empty when strict). */
  unexpectedKeys: string[];
  /** One line per missing or unexpected key, and why an optimizer state was not imported, for messages. */
  problems: string[];
  /** The checkpoint's `epoch`, when it has one (the notebook's final save: epochs run; `ckpt_epoch_N.pt`: N). */
  epoch?: number;
  /** The final save's `loss`, when it has one. */
  loss?: number;
  /** `ckpt_epoch_N.pt`'s `best_loss`, when it has one. */
  bestLoss?: number;
  /**
   * The checkpoint's `optimizer_state_dict`, imported: Adam's lr, betas, eps, step and moments in the model's weight
   * order and tfjs layouts, ready for `trainAutoencoder({ initialOptimizer })`. Present when the file holds a plain
   * Adam state for every parameter of this model (after a strict or complete load).
   */
  optimizer?: AdamSnapshot;
  /** The checkpoint's other entries (e.g. `optimizer_state_dict`), as read: dicts are `Map`s, tensors {@link TorchTensor}. */
  extra: Map<string, unknown>;
}

/** A number stored as a Python number or a one-element tensor, or undefined. */
function scalar(v: unknown): number | undefined {
  return typeof v === 'number' ? v : v instanceof TorchTensor && v.size === 1 ? v.toFloat32()[0] : undefined;
}

/**
 * Reads a PyTorch state dict from the bytes of a safetensors file or a `torch.save` file: a bare
 * `model.state_dict()`, the notebook's final checkpoint dict (`model_state_dict`) or its best-validation
 * `ckpt_epoch_N.pt` (`state_dict`).
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
): Pick<LoadTorchWeightsResult, 'format' | 'epoch' | 'loss' | 'bestLoss' | 'extra'> & {
  stateDict: Map<string, TorchTensor>;
} {
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
  if (!(root instanceof Map))
    throw new FormatError(
      `loadTorchWeights: ${source} holds a ${typeof root}, not a dict; expected a state dict or a checkpoint dict.`,
    );
  const isStateDict = (m: Map<unknown, unknown>) =>
    m.size > 0 && [...m.values()].every((v) => v instanceof TorchTensor);
  for (const [key, format] of [
    ['model_state_dict', 'torch-checkpoint'],
    ['state_dict', 'torch-epoch-checkpoint'],
  ] as const) {
    const nested = root.get(key);
    if (!(nested instanceof Map)) continue;
    if (nested.size > 0 && !isStateDict(nested)) {
      throw new FormatError(
        `loadTorchWeights: ${source}'s '${key}' holds values that are not tensors; expected model.state_dict().`,
      );
    }
    return {
      format,
      stateDict: nested as Map<string, TorchTensor>,
      epoch: scalar(root.get('epoch')),
      loss: scalar(root.get('loss')),
      bestLoss: scalar(root.get('best_loss')),
      extra: new Map([...root].filter(([k]) => k !== key).map(([k, v]) => [String(k), v])),
    };
  }
  if (isStateDict(root))
    return { format: 'torch-state-dict', stateDict: root as Map<string, TorchTensor>, extra: new Map() };
  throw new FormatError(
    `loadTorchWeights: ${source} is a dict with keys [${[...root.keys()].join(', ')}] but no 'model_state_dict' or 'state_dict' and not a state dict itself.`,
  );
}

/** The model's parameters in PyTorch's `model.parameters()` order, each with its state-dict key and both shapes. */
function torchParameters(model: Autoencoder): { key: string; torchShape: number[]; variable: tfl.LayerVariable }[] {
  const params = [...model.convLayers].flatMap(([name, { spec, layer }]) => {
    const [kernel, bias] = layer.trainableWeights;
    return [
      { key: `${name}.weight`, torchShape: torchWeightShape(spec), variable: kernel },
      { key: `${name}.bias`, torchShape: [spec.outChannels], variable: bias },
    ];
  });
  // Adam's moments are kept in the model's trainable-weight order: it must be PyTorch's.
  const order = model.model.trainableWeights;
  if (order.length !== params.length || params.some((p, i) => p.variable !== order[i])) {
    throw new Error(`${model.architecture.name}: its trainable weights are not in state-dict order (a cbir bug).`);
  }
  return params;
}

/**
 * PyTorch's conv layouts to tfjs's: Conv2d `[O, I, kH, kW]` -> `[kH, kW, I, O]` and ConvTranspose2d `[I, O, kH, kW]`
 * -> `[kH, kW, O, I]` (both the permutation [2, 3, 1, 0]); `inverse` goes back. Other ranks are copied.
 */
function convLayout(data: Float32Array, torchShape: readonly number[], inverse = false): Float32Array {
  if (torchShape.length !== 4) return data.slice();
  const [a, b, kh, kw] = torchShape;
  const out = new Float32Array(data.length);
  for (let i = 0; i < a; i++) {
    for (let j = 0; j < b; j++) {
      for (let y = 0; y < kh; y++) {
        for (let x = 0; x < kw; x++) {
          const t = ((i * b + j) * kh + y) * kw + x;
          const f = ((y * kw + x) * b + j) * a + i;
          if (inverse) out[t] = data[f];
          else out[f] = data[t];
        }
      }
    }
  }
  return out;
}

/**
 * Imports a `torch.optim.Adam` `state_dict()` for `model`'s parameters, or says why it cannot.
 * @returns The snapshot, or a problem line.
 */
function importAdam(opt: unknown, params: ReturnType<typeof torchParameters>): AdamSnapshot | string {
  if (!(opt instanceof Map)) return 'optimizer_state_dict is not a dict';
  const groups = opt.get('param_groups');
  const state = opt.get('state');
  if (!Array.isArray(groups) || groups.length !== 1 || !(groups[0] instanceof Map) || !(state instanceof Map)) {
    return 'optimizer_state_dict has not exactly one param group (cbir trains every parameter with one Adam)';
  }
  const g = groups[0] as Map<string, unknown>;
  const ids = g.get('params');
  if (!Array.isArray(ids) || ids.length !== params.length) {
    return `the optimizer's param group has ${Array.isArray(ids) ? ids.length : 'no'} parameters, the model ${params.length}`;
  }
  for (const [key, off] of [
    ['weight_decay', 0],
    ['amsgrad', false],
    ['maximize', false],
  ] as const) {
    const v = g.get(key);
    if (v !== undefined && v !== off && !(off === 0 && v === 0))
      return `the optimizer uses ${key}=${String(v)}, which cbir's Adam does not`;
  }
  const betas = g.get('betas');
  const lr = scalar(g.get('lr'));
  const eps = scalar(g.get('eps'));
  if (
    lr === undefined ||
    eps === undefined ||
    !Array.isArray(betas) ||
    betas.length !== 2 ||
    !betas.every((b) => typeof b === 'number')
  ) {
    return "the optimizer's param group has no lr, betas and eps (not torch.optim.Adam?)";
  }
  const m: Float32Array[] = [];
  const v: Float32Array[] = [];
  let step: number | undefined;
  for (let i = 0; i < params.length; i++) {
    const s = state.get(ids[i]);
    if (s === undefined) {
      if (state.size === 0) continue;
      return `the optimizer has no state for parameter ${ids[i]} (${params[i].key})`;
    }
    if (!(s instanceof Map)) return `the optimizer's state for parameter ${ids[i]} is not a dict`;
    const st = scalar(s.get('step'));
    const ea = s.get('exp_avg');
    const eb = s.get('exp_avg_sq');
    if (st === undefined || !(ea instanceof TorchTensor) || !(eb instanceof TorchTensor)) {
      return `the optimizer's state for ${params[i].key} lacks step, exp_avg or exp_avg_sq (not torch.optim.Adam?)`;
    }
    if (step !== undefined && st !== step)
      return `the optimizer's parameters have taken different numbers of steps (${step} and ${st})`;
    step = st;
    const shape = params[i].torchShape.join(',');
    if (ea.shape.join(',') !== shape || eb.shape.join(',') !== shape) {
      return `the optimizer's moments for ${params[i].key} have shape [${ea.shape.join(', ')}], the parameter [${params[i].torchShape.join(', ')}]`;
    }
    m.push(convLayout(ea.toFloat32(), params[i].torchShape));
    v.push(convLayout(eb.toFloat32(), params[i].torchShape));
  }
  return {
    options: { lr, beta1: betas[0] as number, beta2: betas[1] as number, eps },
    state: { step: step ?? 0, m, v },
  };
}

/**
 * Loads PyTorch weights into a {@link ConvAutoencoder} or {@link ConvAutoencoderV2}: safetensors, or a `torch.save`
 * file in any layout the notebook writes (its final checkpoint dict, its best-validation `ckpt_epoch_N.pt`, or a bare
 * state dict). No Python is involved: the zip archive and the pickle are read in TypeScript. Layouts are converted:
 * Conv2d `[O, I, kH, kW]` -> tfjs `[kH, kW, I, O]`; ConvTranspose2d `[I, O, kH, kW]` -> tfjs `[kH, kW, O, I]`. A
 * checkpoint's Adam state is imported too (`result.optimizer`), so training continues as it would in PyTorch.
 *
 * @param model - The autoencoder to fill; its architecture decides the expected keys and shapes.
 * @param bytes - The file's bytes.
 * @param options - `strict` (default true, as PyTorch) and `source` (a name for messages).
 * @returns What was loaded and what was not, plus the checkpoint's epoch, losses, optimizer and other entries.
 * @throws {@link WeightsMismatchError} for a shape mismatch, and (strict) for missing or unexpected keys, listing
 * every problem.
 * @throws {@link FormatError} if the bytes are not a readable weight file.
 *
 * @example
 * ```ts
 * import { readFile } from 'node:fs/promises';
 * import { ConvAutoencoderV2, loadTorchWeights } from 'cbir-core';
 *
 * const ae = new ConvAutoencoderV2();
 * const info = loadTorchWeights(ae, await readFile('conv_autoencoderv2_200ep.pt'));
 * console.log(info.format, info.epoch, info.loaded.length); // 'torch-checkpoint', 200, 28
 * ```
 */
export function loadTorchWeights(
  model: Autoencoder,
  bytes: Uint8Array,
  options: LoadTorchWeightsOptions = {},
): LoadTorchWeightsResult {
  const strict = options.strict ?? true;
  const source = options.source ?? 'weights';
  const { stateDict, ...info } = readTorchStateDict(bytes, source);
  const params = torchParameters(model);
  const expected = new Set(params.map((p) => p.key));
  const missingKeys = params.map((p) => p.key).filter((k) => !stateDict.has(k));
  const unexpectedKeys = [...stateDict.keys()].filter((k) => !expected.has(k));
  const shapeProblems = params
    .filter((p) => stateDict.has(p.key) && stateDict.get(p.key)!.shape.join(',') !== p.torchShape.join(','))
    .map(
      (p) =>
        `"${p.key}" has shape [${stateDict.get(p.key)!.shape.join(', ')}], the model expects [${p.torchShape.join(', ')}]`,
    );
  const keyProblems = [
    ...missingKeys.map((k) => `missing key "${k}"`),
    ...unexpectedKeys.map((k) => `unexpected key "${k}"`),
  ];
  if (shapeProblems.length > 0 || (strict && keyProblems.length > 0)) {
    const problems = strict ? [...keyProblems, ...shapeProblems] : shapeProblems;
    throw new WeightsMismatchError(
      `loadTorchWeights: ${source} does not match ${model.architecture.name} (inputSize ${model.inputSize}): ` +
        `${problems.join('; ')}. Check that the file holds this model's state dict` +
        (strict && shapeProblems.length === 0
          ? ', or pass { strict: false } to load the keys that are there.'
          : ' (a shape mismatch is an error even with strict: false, as in PyTorch).'),
      problems,
    );
  }
  // Every value is read and checked before any weight is written: a file with a NaN loads nothing.
  const values = new Map<string, Float32Array>();
  for (const p of params) {
    const t = stateDict.get(p.key);
    if (!t) continue;
    const data = t.toFloat32();
    const bad = data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      throw new NonFiniteError(
        `loadTorchWeights: ${source} has ${data[bad]} in "${p.key}" at index ${bad}${data.every((v) => Number.isNaN(v)) ? ' (every value is NaN)' : ''}; weights must be finite. Was it saved after training diverged?`,
      );
    }
    values.set(p.key, data);
  }
  const loaded: string[] = [];
  for (const p of params) {
    const data = values.get(p.key);
    if (!data) continue;
    const value = tf.tensor(convLayout(data, p.torchShape), p.variable.shape as number[]);
    p.variable.write(value);
    value.dispose();
    loaded.push(p.key);
  }
  const problems = [...keyProblems];
  let optimizer: AdamSnapshot | undefined;
  const opt = info.extra.get('optimizer_state_dict');
  if (opt !== undefined) {
    const imported =
      missingKeys.length === 0
        ? importAdam(opt, params)
        : 'the optimizer state is not imported: the model is not fully loaded';
    if (typeof imported === 'string') problems.push(`optimizer_state_dict: ${imported}`);
    else optimizer = imported;
  }
  return { ...info, loaded, missingKeys, unexpectedKeys, problems, optimizer };
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

/** Options of {@link exportTorchCheckpoint}. */
export interface ExportTorchCheckpointOptions {
  /**
   * The file's layout, as the notebook writes them: `checkpoint` its final save `{'epoch', 'model_state_dict',
   * 'optimizer_state_dict', 'loss'}`, `epoch-checkpoint` its `ckpt_epoch_N.pt` `{'epoch', 'state_dict', 'best_loss',
   * 'optimizer_state_dict'}`, `state-dict` a bare `model.state_dict()`.
   * @defaultValue 'checkpoint'
   */
  layout?: 'checkpoint' | 'epoch-checkpoint' | 'state-dict';
  /** The `epoch` entry. @defaultValue 0 */
  epoch?: number;
  /** The `loss` (final save) or `best_loss` (`ckpt_epoch_N.pt`) entry. @defaultValue NaN */
  loss?: number;
  /**
   * Adam's state to save as `optimizer_state_dict` (e.g. a training checkpoint's `adam`, with its options). Without
   * it, the checkpoint layouts hold a fresh optimizer's state (no steps, lr 3e-4), as `optimizer.state_dict()` before
   * training.
   */
  optimizer?: AdamSnapshot;
}

/**
 * Writes the model (and optionally Adam's state) as a `torch.save` file in the notebook's layouts, so a model
 * trained in cbir loads in the notebook: `model.load_state_dict(ckpt['model_state_dict'])` and
 * `optimizer.load_state_dict(ckpt['optimizer_state_dict'])` with `torch.optim.Adam(model.parameters())` continue
 * exactly where cbir stopped. Tensors are float32 in PyTorch's layouts; Adam's `step` is a float32 scalar tensor, as
 * PyTorch >= 1.12 keeps it.
 *
 * @param model - The model to save.
 * @param options - Layout, epoch, loss and optimizer state.
 * @returns The file's bytes (a zip archive that `torch.load` reads).
 *
 * @example
 * ```ts
 * import { writeFile } from 'node:fs/promises';
 * await writeFile('conv_autoencoderv2.pt', exportTorchCheckpoint(ae, { epoch: 20, loss: 0.011, optimizer }));
 * ```
 */
export function exportTorchCheckpoint(model: Autoencoder, options: ExportTorchCheckpointOptions = {}): Uint8Array {
  const layout = options.layout ?? 'checkpoint';
  const params = torchParameters(model);
  const stateDict = orderedDict(
    new Map(
      params.map((p) => [
        p.key,
        TorchTensor.fromFloat32(
          convLayout(p.variable.read().dataSync() as Float32Array, p.torchShape, true),
          p.torchShape,
        ),
      ]),
    ),
  );
  if (layout === 'state-dict') return writeTorchFile(stateDict);
  const opt = options.optimizer ?? {
    options: { lr: 3e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
    state: { step: 0, m: [], v: [] },
  };
  const { state } = opt;
  if (state.m.length !== 0 && state.m.length !== params.length) {
    throw new CbirError(
      'INVALID_ARGUMENT',
      `exportTorchCheckpoint: the optimizer state has moments for ${state.m.length} parameters, ${model.architecture.name} has ${params.length}.`,
    );
  }
  const perParam = new Map(
    state.m.map((m, i) => [
      i,
      new Map<string, unknown>([
        ['step', TorchTensor.fromFloat32(Float32Array.of(state.step), [])],
        ['exp_avg', TorchTensor.fromFloat32(convLayout(m, params[i].torchShape, true), params[i].torchShape)],
        [
          'exp_avg_sq',
          TorchTensor.fromFloat32(convLayout(state.v[i], params[i].torchShape, true), params[i].torchShape),
        ],
      ]),
    ]),
  );
  const { lr, beta1, beta2, eps } = opt.options;
  // torch.optim.Adam's param group as PyTorch 1.13 to 2.x write it (load_state_dict keeps the keys it is given).
  const group = new Map<string, unknown>([
    ['lr', new PyFloat(lr)],
    ['betas', new PyTuple([new PyFloat(beta1), new PyFloat(beta2)])],
    ['eps', new PyFloat(eps)],
    ['weight_decay', 0],
    ['amsgrad', false],
    ['maximize', false],
    ['foreach', null],
    ['capturable', false],
    ['differentiable', false],
    ['params', params.map((_, i) => i)],
  ]);
  const optimizerStateDict = new Map<string, unknown>([
    ['state', perParam],
    ['param_groups', [group]],
  ]);
  const epoch = options.epoch ?? 0;
  const loss = new PyFloat(options.loss ?? NaN);
  return writeTorchFile(
    new Map<string, unknown>(
      layout === 'checkpoint'
        ? [
            ['epoch', epoch],
            ['model_state_dict', stateDict],
            ['optimizer_state_dict', optimizerStateDict],
            ['loss', loss],
          ]
        : [
            ['epoch', epoch],
            ['state_dict', stateDict],
            ['best_loss', loss],
            ['optimizer_state_dict', optimizerStateDict],
          ],
    ),
  );
}
