import * as tfl from '@tensorflow/tfjs-layers';
import { CbirError } from '../errors.js';
import { fuseReluWhileTraining } from './fused-conv-relu.js';

/**
 * A PyTorch module in one of the notebook's `nn.Sequential` stacks, described by the arguments its constructor
 * took. `name` is its key prefix in the PyTorch `state_dict` (`encoder.0`, `decoder.4`, ...).
 */
export type TorchModuleSpec =
  | {
      type: 'Conv2d' | 'ConvTranspose2d';
      name: string;
      inChannels: number;
      outChannels: number;
      kernelSize: number;
      stride: number;
      padding: number;
    }
  | { type: 'MaxPool2d'; name: string; kernelSize: number; stride: number }
  | { type: 'ReLU' | 'Tanh'; name: string };

/** A module with weights: Conv2d or ConvTranspose2d. */
export type TorchConvSpec = Extract<TorchModuleSpec, { type: 'Conv2d' | 'ConvTranspose2d' }>;

/** Output side length of `spec` for an input of side `n`, by PyTorch's formulas (floor mode, no dilation). */
export function outputSide(spec: TorchModuleSpec, n: number): number {
  switch (spec.type) {
    case 'Conv2d':
      return Math.floor((n + 2 * spec.padding - spec.kernelSize) / spec.stride) + 1;
    case 'MaxPool2d':
      return Math.floor((n - spec.kernelSize) / spec.stride) + 1;
    case 'ConvTranspose2d':
      return (n - 1) * spec.stride - 2 * spec.padding + spec.kernelSize;
    default:
      return n;
  }
}

/** Output channels of `spec` given `c` input channels. */
export function outputChannels(spec: TorchModuleSpec, c: number): number {
  return spec.type === 'Conv2d' || spec.type === 'ConvTranspose2d' ? spec.outChannels : c;
}

/** Number of parameters of `spec` (weights + biases). */
export function moduleParams(spec: TorchModuleSpec): number {
  if (spec.type !== 'Conv2d' && spec.type !== 'ConvTranspose2d') return 0;
  return spec.inChannels * spec.outChannels * spec.kernelSize ** 2 + spec.outChannels;
}

/** PyTorch shape of a conv module's `weight`: Conv2d `[O, I, k, k]`, ConvTranspose2d `[I, O, k, k]`. */
export function torchWeightShape(spec: TorchConvSpec): number[] {
  const { inChannels: i, outChannels: o, kernelSize: k } = spec;
  return spec.type === 'Conv2d' ? [o, i, k, k] : [i, o, k, k];
}

/**
 * The tfjs layers that compute `spec` exactly as PyTorch does, in NHWC:
 * - `Conv2d(padding=p)` -> `ZeroPadding2D(p)` + valid `Conv2D`;
 * - `ConvTranspose2d(padding=p)` -> valid `Conv2DTranspose` + `Cropping2D(p)` (valid transposed convolution has
 *   PyTorch's `(n - 1) * stride + kernel` output when `kernel >= stride`, and cropping removes `p` from each side);
 * - `MaxPool2d` -> valid `MaxPooling2D` (PyTorch's floor mode), activations -> `Activation`.
 *
 * Where exact, `Conv2d` uses TF's `same` padding instead (see {@link samePaddingMatches}), and a following ReLU is
 * fused into the convolution (`fuseRelu`).
 *
 * The conv layer is named after the PyTorch module so weights can be found by name; helper layers get a suffix.
 * Kernels and biases are initialised as PyTorch does (uniform in +-1/sqrt(fan_in)).
 *
 * @returns The layers in order and, for Conv2d and ConvTranspose2d, the layer that holds the weights.
 */
/**
 * Whether TF's `same` padding reads exactly the windows PyTorch's explicit `padding=p` reads for an input of side `n`:
 * the same output size and `p` rows/columns of zeros before the first window (a larger unused margin after the
 * last window does not matter). Then a `Conv2D` with `same` padding replaces `ZeroPadding2D` + `valid`, saving a
 * pad in the forward pass and a slice in the backward pass.
 */
export function samePaddingMatches(spec: TorchConvSpec, n: number): boolean {
  const { kernelSize: k, stride: s, padding: p } = spec;
  const outSame = Math.ceil(n / s);
  const top = Math.floor(Math.max((outSame - 1) * s + k - n, 0) / 2);
  return outSame === outputSide(spec, n) && top === p;
}

/** How {@link toTfjsLayers} may fuse a module with its neighbours. */
export interface TfjsLayerOptions {
  /** Initialiser seed. */
  seed?: number;
  /** The input side, when known: lets `Conv2d` use TF's `same` padding where it is exact. */
  inputSide?: number;
  /** Apply ReLU inside the convolution (the next module is a ReLU, which then emits no layer). */
  fuseRelu?: boolean;
}

export function toTfjsLayers(
  spec: TorchModuleSpec,
  options: TfjsLayerOptions = {},
): { layers: tfl.layers.Layer[]; conv?: tfl.layers.Layer } {
  const { seed, inputSide, fuseRelu = false } = options;
  switch (spec.type) {
    case 'Conv2d':
    case 'ConvTranspose2d': {
      if (spec.type === 'ConvTranspose2d' && spec.kernelSize < spec.stride) {
        throw new CbirError(
          'INVALID_ARGUMENT',
          `toTfjsLayers: ${spec.name}: ConvTranspose2d with kernel < stride is not supported; use kernelSize >= stride.`,
        );
      }
      const fanIn = (spec.type === 'Conv2d' ? spec.inChannels : spec.outChannels) * spec.kernelSize ** 2;
      const bound = 1 / Math.sqrt(fanIn);
      const args = {
        name: spec.name,
        filters: spec.outChannels,
        kernelSize: spec.kernelSize,
        strides: spec.stride,
        padding: 'valid' as const,
        activation: fuseRelu ? ('relu' as const) : undefined,
        kernelInitializer: tfl.initializers.randomUniform({ minval: -bound, maxval: bound, seed }),
        biasInitializer: tfl.initializers.randomUniform({
          minval: -bound,
          maxval: bound,
          seed: seed === undefined ? undefined : seed + 1,
        }),
      };
      const p = spec.padding;
      if (spec.type === 'Conv2d') {
        if (p > 0 && inputSide !== undefined && samePaddingMatches(spec, inputSide)) {
          const conv = tfl.layers.conv2d({ ...args, padding: 'same' });
          if (fuseRelu) fuseReluWhileTraining(conv);
          return { layers: [conv], conv };
        }
        const conv = tfl.layers.conv2d(args);
        if (fuseRelu) fuseReluWhileTraining(conv);
        return {
          layers: p > 0 ? [tfl.layers.zeroPadding2d({ padding: p, name: `${spec.name}.pad` }), conv] : [conv],
          conv,
        };
      }
      const conv = tfl.layers.conv2dTranspose(args);
      return {
        layers: p > 0 ? [conv, tfl.layers.cropping2D({ cropping: p, name: `${spec.name}.crop` })] : [conv],
        conv,
      };
    }
    case 'MaxPool2d':
      return {
        layers: [
          tfl.layers.maxPooling2d({
            poolSize: spec.kernelSize,
            strides: spec.stride,
            padding: 'valid',
            name: spec.name,
          }),
        ],
      };
    case 'ReLU':
      return { layers: [tfl.layers.activation({ activation: 'relu', name: spec.name })] };
    case 'Tanh':
      return { layers: [tfl.layers.activation({ activation: 'tanh', name: spec.name })] };
  }
}
