import { Autoencoder, type AutoencoderArchitecture, type AutoencoderOptions } from './autoencoder.js';
import type { TorchModuleSpec } from './torch-modules.js';

const ENCODER_CHANNELS = [3, 48, 64, 96, 128, 256];
const DECODER_CHANNELS = [256, 256, 256, 128, 96, 3];

/**
 * The notebook's second model, module for module (PyTorch names in the state dict):
 * ```
 * encoder: 5 x [Conv2d(c_in, c_out, 3, padding=1), ReLU, MaxPool2d(2, 2)], channels 3-48-64-96-128-256
 * decoder: 5 x ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1), channels 256-256-256-128-96-3,
 *          no activation between them, then Tanh
 * ```
 */
export const CONV_AUTOENCODER_V2: AutoencoderArchitecture = {
  name: 'ConvAutoencoderV2',
  encoder: ENCODER_CHANNELS.slice(1).flatMap((out, i): TorchModuleSpec[] => [
    { type: 'Conv2d', name: `encoder.${3 * i}`, inChannels: ENCODER_CHANNELS[i], outChannels: out, kernelSize: 3, stride: 1, padding: 1 },
    { type: 'ReLU', name: `encoder.${3 * i + 1}` },
    { type: 'MaxPool2d', name: `encoder.${3 * i + 2}`, kernelSize: 2, stride: 2 },
  ]),
  decoder: [
    ...DECODER_CHANNELS.slice(1).map((out, i): TorchModuleSpec => ({
      type: 'ConvTranspose2d', name: `decoder.${i}`, inChannels: DECODER_CHANNELS[i], outChannels: out, kernelSize: 4, stride: 2, padding: 1,
    })),
    { type: 'Tanh', name: 'decoder.5' },
  ],
};

/**
 * The notebook's larger convolutional autoencoder (3,313,731 parameters; latent 256x16x16 at 512x512).
 *
 * It reproduces any input size that is a multiple of 32 (five 2x poolings, five 2x transposed convolutions).
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
