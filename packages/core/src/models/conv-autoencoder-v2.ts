import { Autoencoder, type AutoencoderArchitecture, type AutoencoderOptions } from './autoencoder.js';
import type { TorchModuleSpec } from './torch-modules.js';

const conv = (
  i: number,
  inChannels: number,
  outChannels: number,
  stride: number,
  padding: number,
): TorchModuleSpec => ({
  type: 'Conv2d',
  name: `encoder.${i}`,
  inChannels,
  outChannels,
  kernelSize: 3,
  stride,
  padding,
});
const convT = (
  i: number,
  inChannels: number,
  outChannels: number,
  kernelSize: number,
  stride: number,
  padding: number,
): TorchModuleSpec => ({
  type: 'ConvTranspose2d',
  name: `decoder.${i}`,
  inChannels,
  outChannels,
  kernelSize,
  stride,
  padding,
});
const relu = (scope: 'encoder' | 'decoder', i: number): TorchModuleSpec => ({ type: 'ReLU', name: `${scope}.${i}` });
const pool = (i: number): TorchModuleSpec => ({ type: 'MaxPool2d', name: `encoder.${i}`, kernelSize: 2, stride: 2 });

/**
 * The notebook's `ConvAutoencoder_v2`, module for module (PyTorch names in the state dict; k kernel, s stride,
 * p padding). Side lengths are at 128 px.
 * ```
 * encoder  0 Conv2d 3-64 k3 s1 p1, ReLU          128     decoder  0 ConvTranspose2d 256-256 k3 s1 p1          4
 *          2 Conv2d 64-64 k3 s1 p1, ReLU         128              1 ConvTranspose2d 256-256 k3 s1 p1, ReLU    4
 *          4 MaxPool2d 2/2                        64              3 ConvTranspose2d 256-128 k3 s2 p0          9
 *          5 Conv2d 64-128 k3 s2 p1, ReLU         32              4 ConvTranspose2d 128-64 k3 s2 p1, ReLU    17
 *          7 Conv2d 128-128 k3 s1 p0, ReLU        30              6 ConvTranspose2d 64-32 k3 s2 p1           33
 *          9 MaxPool2d 2/2                        15              7 ConvTranspose2d 32-32 k3 s2 p1, ReLU     65
 *         10 Conv2d 128-256 k3 s2 p1, ReLU         8              9 ConvTranspose2d 32-3 k4 s2 p2, Tanh     128
 *         12 Conv2d 256-256 k3 s1 p1, ReLU         8
 *         14 Conv2d 256-256 k3 s1 p1, ReLU         8
 *         16 MaxPool2d 2/2                         4
 * ```
 * The decoder's pairs (0, 1), (3, 4) and (6, 7) have no activation between them, as in the notebook.
 */
export const CONV_AUTOENCODER_V2: AutoencoderArchitecture = {
  name: 'ConvAutoencoderV2',
  encoder: [
    conv(0, 3, 64, 1, 1),
    relu('encoder', 1),
    conv(2, 64, 64, 1, 1),
    relu('encoder', 3),
    pool(4),
    conv(5, 64, 128, 2, 1),
    relu('encoder', 6),
    conv(7, 128, 128, 1, 0),
    relu('encoder', 8),
    pool(9),
    conv(10, 128, 256, 2, 1),
    relu('encoder', 11),
    conv(12, 256, 256, 1, 1),
    relu('encoder', 13),
    conv(14, 256, 256, 1, 1),
    relu('encoder', 15),
    pool(16),
  ],
  decoder: [
    convT(0, 256, 256, 3, 1, 1),
    convT(1, 256, 256, 3, 1, 1),
    relu('decoder', 2),
    convT(3, 256, 128, 3, 2, 0),
    convT(4, 128, 64, 3, 2, 1),
    relu('decoder', 5),
    convT(6, 64, 32, 3, 2, 1),
    convT(7, 32, 32, 3, 2, 1),
    relu('decoder', 8),
    convT(9, 32, 3, 4, 2, 2),
    { type: 'Tanh', name: 'decoder.10' },
  ],
};

/**
 * The notebook's larger convolutional autoencoder, `ConvAutoencoder_v2` (3,313,731 parameters: 1,735,488 in the
 * encoder, 1,578,243 in the decoder; latent 256x16x16 at 512x512).
 *
 * It reproduces any input size that is a multiple of 32; the latent is `256 x S/32 x S/32` (65,536 values at 512,
 * 4,096 at 128, 256 at 32).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { ConvAutoencoderV2 } from 'cbir-core';
 *
 * const ae = new ConvAutoencoderV2({ inputSize: 128 });
 * ae.latentShape;                                  // [256, 4, 4]
 * const x = tf.zeros([1, 128, 128, 3]) as tf.Tensor4D;
 * const y = ae.reconstruct(x);                     // [1, 128, 128, 3]
 * tf.dispose([x, y]);
 * ```
 */
export class ConvAutoencoderV2 extends Autoencoder {
  /**
   * @param options - `inputSize` (default 512, a multiple of 32) and `seed`.
   * @throws {@link CbirError} (`INVALID_ARGUMENT`) if `inputSize` is not a multiple of 32, naming the nearest ones.
   */
  constructor(options: AutoencoderOptions = {}) {
    super(CONV_AUTOENCODER_V2, options);
  }
}
