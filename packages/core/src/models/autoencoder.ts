import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { CbirError, DimensionMismatchError } from '../errors.js';
import {
  moduleParams,
  outputChannels,
  outputSide,
  toTfjsLayers,
  type TorchConvSpec,
  type TorchModuleSpec,
} from './torch-modules.js';

/** Options shared by both autoencoders. */
export interface AutoencoderOptions {
  /**
   * Side of the square input images, in pixels. Must be a size the model reproduces (see each model's docs).
   * @defaultValue 512 (the notebook's)
   */
  inputSize?: number;
  /**
   * Seed for the weight initialisation (uniform in +-1/sqrt(fan_in), as PyTorch). Omit for a random start.
   */
  seed?: number;
}

/** One row of {@link Autoencoder.summary}, as `torchsummary` prints it for the PyTorch module. */
export interface SummaryRow {
  /** The PyTorch module's name in the state dict, e.g. `encoder.0`. */
  name: string;
  /** The PyTorch class, e.g. `Conv2d`. */
  type: TorchModuleSpec['type'];
  /** Output shape in PyTorch's order without the batch: `[channels, height, width]`. */
  outputShape: [number, number, number];
  /** Number of parameters. */
  params: number;
}

/** The static description of an autoencoder architecture: its PyTorch modules. */
export interface AutoencoderArchitecture {
  /** Class name, used in messages. */
  readonly name: string;
  readonly encoder: readonly TorchModuleSpec[];
  readonly decoder: readonly TorchModuleSpec[];
}

/** ReLU can run inside a convolution (Conv2d, ConvTranspose2d) as a fused activation. */
function canFuseRelu(spec: TorchModuleSpec): boolean {
  return spec.type === 'Conv2d' || spec.type === 'ConvTranspose2d';
}

/** Side lengths after each module for input side `n`, or `undefined` once a side drops below 1. */
function sides(modules: readonly TorchModuleSpec[], n: number): number[] | undefined {
  const out: number[] = [];
  for (const m of modules) {
    n = outputSide(m, n);
    if (!(n >= 1)) return undefined;
    out.push(n);
  }
  return out;
}

/** The side the full model outputs for input side `n`, or `undefined` if the input is too small. */
export function reconstructedSide(arch: AutoencoderArchitecture, n: number): number | undefined {
  const all = sides([...arch.encoder, ...arch.decoder], n);
  return all?.[all.length - 1];
}

/** A core's L2 cache on the machines cbir is measured on (2 MiB on current x86 server cores; 1-2 MiB on desktops). */
const CACHE_BYTES = 2 ** 21;

/**
 * Bytes one encoder call may hold in activations: a pass keeps every layer's output until it ends, and the wasm
 * backend's heap holds 4 GiB at most (V2 at 512 px, batch 32, in one pass needs about 5.6 GB and fails).
 */
const ENCODE_BUDGET_BYTES = 2 ** 30;

/**
 * How many images to run through an encoder at once: as many as keep each of its activations (float32, padded
 * inputs included) within a core's L2 cache, when one image fits; otherwise as many as keep the pass's activations
 * within 1 GiB, since models that large are bound by arithmetic, which larger batches share better between threads.
 * Measured on the wasm backend, one thread: ConvAutoencoder at 128 px encodes 14,220 img/s in batches of 8 against
 * 10,543 at 32 and 8,276 at 64; ConvAutoencoderV2, whose first activation is 3 MB an image, 214 img/s at 32 against
 * 198 at 8.
 *
 * @returns A count of images, at least 1.
 * @example
 * ```ts
 * encodeChunkSize(new ConvAutoencoder({ inputSize: 128 }).architecture, 128);    // 10
 * encodeChunkSize(new ConvAutoencoderV2({ inputSize: 128 }).architecture, 128);  // 52
 * encodeChunkSize(new ConvAutoencoderV2({ inputSize: 512 }).architecture, 512);  // 3
 * ```
 */
export function encodeChunkSize(arch: AutoencoderArchitecture, inputSize: number): number {
  let side = inputSize;
  let c = 3;
  let most = side * side * c;
  let sum = most;
  for (const m of arch.encoder) {
    if (m.type === 'Conv2d' && m.padding > 0) most = Math.max(most, (side + 2 * m.padding) ** 2 * c);
    side = outputSide(m, side);
    c = outputChannels(m, c);
    most = Math.max(most, side * side * c);
    sum += side * side * c;
  }
  const fit = Math.floor(CACHE_BYTES / (most * 4));
  return fit >= 1 ? fit : Math.max(1, Math.floor(ENCODE_BUDGET_BYTES / (sum * 4)));
}

/** The valid input sizes (those the model reproduces) nearest to `n`: the largest below and the smallest above. */
export function nearestValidSizes(arch: AutoencoderArchitecture, n: number, limit = 8192): number[] {
  const found: number[] = [];
  for (let s = Math.min(Math.floor(n), limit); s >= 1; s--) {
    if (s !== n && reconstructedSide(arch, s) === s) {
      found.push(s);
      break;
    }
  }
  for (let s = Math.max(Math.ceil(n), 1); s <= limit; s++) {
    if (s !== n && reconstructedSide(arch, s) === s) {
      found.push(s);
      break;
    }
  }
  return found;
}

/**
 * A convolutional autoencoder built on tfjs-layers, module for module a PyTorch `nn.Sequential` encoder and decoder.
 * Inputs are NHWC float32 tensors in [-1, 1] (the notebook's `ToTensor()` + `Normalize(0.5, 0.5)`, transposed to
 * channels-last). {@link ConvAutoencoder} and {@link ConvAutoencoderV2} are the two architectures of the notebook.
 *
 * @example
 * ```ts
 * const ae: Autoencoder = new ConvAutoencoderV2({ inputSize: 128 });
 * const z = ae.encode(x);          // x: [n, 128, 128, 3] in [-1, 1]
 * console.log(ae.latentShape, ae.countParams());
 * ```
 */
export abstract class Autoencoder {
  /** The full model: `[n, inputSize, inputSize, 3]` -> `[n, inputSize, inputSize, 3]`. Train this one. */
  readonly model: tfl.LayersModel;
  /** The encoder: `[n, inputSize, inputSize, 3]` -> `[n, h, w, c]` (NHWC latent). Shares weights with `model`. */
  readonly encoder: tfl.LayersModel;
  /** The decoder: `[n, h, w, c]` -> `[n, inputSize, inputSize, 3]`. Shares weights with `model`. */
  readonly decoder: tfl.LayersModel;
  /** Side of the square input, in pixels. */
  readonly inputSize: number;
  /** Latent shape in PyTorch's order `[channels, height, width]` (the notebook's), e.g. `[8, 42, 42]`. */
  readonly latentShape: readonly [number, number, number];
  /** The architecture: the PyTorch modules this model mirrors. */
  readonly architecture: AutoencoderArchitecture;
  /** How many images {@link Autoencoder.encode} runs through the encoder at once (see {@link encodeChunkSize}). */
  readonly encodeChunk: number;
  /** The tfjs layer holding each conv module's weights, by PyTorch module name, in state-dict order. */
  readonly convLayers: ReadonlyMap<string, { spec: TorchConvSpec; layer: tfl.layers.Layer }>;

  protected constructor(arch: AutoencoderArchitecture, options: AutoencoderOptions = {}) {
    const inputSize = options.inputSize ?? 512;
    if (!Number.isInteger(inputSize) || inputSize < 1 || reconstructedSide(arch, inputSize) !== inputSize) {
      const near = Number.isFinite(inputSize) ? nearestValidSizes(arch, inputSize) : [];
      const out = Number.isInteger(inputSize) && inputSize >= 1 ? reconstructedSide(arch, inputSize) : undefined;
      throw new CbirError(
        'INVALID_ARGUMENT',
        `${arch.name}: inputSize ${inputSize} is not a size this model reproduces` +
          (out === undefined ? '' : ` (its decoder would output ${out}x${out})`) +
          `. Nearest valid sizes: ${near.join(' and ')}. Resize your images to one of them.`,
      );
    }
    this.inputSize = inputSize;
    this.architecture = arch;

    const convLayers = new Map<string, { spec: TorchConvSpec; layer: tfl.layers.Layer }>();
    let seedIndex = 0;
    let side = inputSize;
    const build = (specs: readonly TorchModuleSpec[]) => {
      const layers: tfl.layers.Layer[] = [];
      specs.forEach((spec, i) => {
        const fusedInto = i > 0 && spec.type === 'ReLU' && specs[i - 1].type !== 'ReLU' && canFuseRelu(specs[i - 1]);
        if (!fusedInto) {
          const seed = options.seed === undefined ? undefined : options.seed + 2 * seedIndex++;
          const fuseRelu = specs[i + 1]?.type === 'ReLU' && canFuseRelu(spec);
          const { layers: made, conv } = toTfjsLayers(spec, { seed, inputSide: side, fuseRelu });
          if (conv) convLayers.set(spec.name, { spec: spec as TorchConvSpec, layer: conv });
          layers.push(...made);
        }
        side = outputSide(spec, side);
      });
      return layers;
    };
    const encoderLayers = build(arch.encoder);
    const decoderLayers = build(arch.decoder);
    this.convLayers = convLayers;

    const latentSides = sides(arch.encoder, inputSize)!;
    const latentSide = latentSides[latentSides.length - 1];
    const latentChannels = arch.encoder.reduce((c, m) => outputChannels(m, c), 3);
    this.latentShape = [latentChannels, latentSide, latentSide];
    this.encodeChunk = encodeChunkSize(arch, inputSize);

    const apply = (layers: tfl.layers.Layer[], x: tfl.SymbolicTensor) =>
      layers.reduce((t, layer) => layer.apply(t) as tfl.SymbolicTensor, x);
    const input = tfl.input({ shape: [inputSize, inputSize, 3], name: 'image' });
    const latent = apply(encoderLayers, input);
    const output = apply(decoderLayers, latent);
    const latentInput = tfl.input({ shape: [latentSide, latentSide, latentChannels], name: 'latent' });
    this.model = tfl.model({ inputs: input, outputs: output, name: arch.name });
    this.encoder = tfl.model({ inputs: input, outputs: latent, name: `${arch.name}.encoder` });
    this.decoder = tfl.model({
      inputs: latentInput,
      outputs: apply(decoderLayers, latentInput),
      name: `${arch.name}.decoder`,
    });
  }

  /** Number of latent features per image: `channels * height * width`. */
  get latentDim(): number {
    const [c, h, w] = this.latentShape;
    return c * h * w;
  }

  /**
   * Encodes a batch of images.
   *
   * @param x - NHWC float32 images in [-1, 1], shape `[n, inputSize, inputSize, 3]`.
   * @returns The NHWC latent, shape `[n, h, w, c]` where `latentShape` is `[c, h, w]`. The caller disposes it.
   * @throws {@link DimensionMismatchError} if `x` has another shape.
   */
  encode(x: tf.Tensor4D): tf.Tensor4D {
    this.checkInput('encode', x);
    const n = x.shape[0];
    const parts = Math.ceil(n / this.encodeChunk);
    if (parts <= 1) return tf.tidy(() => this.encoder.apply(x, { training: false }) as tf.Tensor4D);
    // In chunks whose activations stay in cache, each freed before the next.
    const size = Math.ceil(n / parts);
    const outs: tf.Tensor4D[] = [];
    for (let i = 0; i < n; i += size) {
      outs.push(
        tf.tidy(
          () =>
            this.encoder.apply(tf.slice(x, [i, 0, 0, 0], [Math.min(size, n - i), -1, -1, -1]), {
              training: false,
            }) as tf.Tensor4D,
        ),
      );
    }
    const z = tf.concat4d(outs, 0);
    tf.dispose(outs);
    return z;
  }

  /**
   * Encodes and decodes a batch of images.
   *
   * @param x - NHWC float32 images in [-1, 1], shape `[n, inputSize, inputSize, 3]`.
   * @returns The reconstruction, same shape as `x`, values in (-1, 1). The caller disposes it.
   * @throws {@link DimensionMismatchError} if `x` has another shape.
   */
  reconstruct(x: tf.Tensor4D): tf.Tensor4D {
    this.checkInput('reconstruct', x);
    return tf.tidy(() => this.model.apply(x, { training: false }) as tf.Tensor4D);
  }

  /** Number of trainable parameters (V1: 6,851; V2: 3,313,731, whatever the input size). */
  countParams(): number {
    return this.model.countParams();
  }

  /**
   * One row per PyTorch module, as `torchsummary.summary(model, (3, size, size))` lists them: module name,
   * output shape `[channels, height, width]` and parameter count.
   */
  summary(): SummaryRow[] {
    const rows: SummaryRow[] = [];
    let side = this.inputSize;
    let channels = 3;
    for (const spec of [...this.architecture.encoder, ...this.architecture.decoder]) {
      side = outputSide(spec, side);
      channels = outputChannels(spec, channels);
      rows.push({ name: spec.name, type: spec.type, outputShape: [channels, side, side], params: moduleParams(spec) });
    }
    return rows;
  }

  /** {@link Autoencoder.summary} as a fixed-width text table with a total, ready to print. */
  formatSummary(): string {
    const rows = this.summary();
    const cells = rows.map((r) => [
      `${r.name} (${r.type})`,
      `[-1, ${r.outputShape.join(', ')}]`,
      r.params.toLocaleString('en-US'),
    ]);
    const head = ['Layer (type)', 'Output Shape', 'Param #'];
    const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
    const fmt = (c: string[]) => `${c[0].padEnd(widths[0])}  ${c[1].padEnd(widths[1])}  ${c[2].padStart(widths[2])}`;
    const rule = '-'.repeat(widths[0] + widths[1] + widths[2] + 4);
    const total = rows.reduce((a, r) => a + r.params, 0);
    return [
      `${this.architecture.name} (input 3x${this.inputSize}x${this.inputSize}, latent ${this.latentShape.join('x')})`,
      rule,
      fmt(head),
      rule,
      ...cells.map(fmt),
      rule,
      `Total params: ${total.toLocaleString('en-US')}`,
    ].join('\n');
  }

  /** Releases the model's weights. The instance must not be used afterwards. */
  dispose(): void {
    // tfjs counts each use of a layer and frees its weights on the last dispose: the decoder's layers are used twice
    // (in the whole model and in `decoder`), so each layer is disposed until its count reaches 0.
    for (const l of this.model.layers) while (l.dispose().refCountAfterDispose > 0);
  }

  private checkInput(where: string, x: tf.Tensor): void {
    const s = this.inputSize;
    if (x.rank !== 4 || x.shape[1] !== s || x.shape[2] !== s || x.shape[3] !== 3) {
      throw new DimensionMismatchError(
        `${this.architecture.name}.${where}: expected NHWC images of shape [n, ${s}, ${s}, 3], got [${x.shape.join(', ')}]. ` +
          `Resize images to ${s}x${s} RGB and stack them on the first axis.`,
      );
    }
  }
}
