import { Autoencoder, type AutoencoderArchitecture, type AutoencoderOptions } from './autoencoder.js';

/**
 * The notebook's first model, module for module (PyTorch names in the state dict):
 * ```
 * encoder: Conv2d(3, 16, 3, stride=3, padding=1), ReLU, MaxPool2d(2, 2),
 *          Conv2d(16, 8, 3, stride=2, padding=1), ReLU, MaxPool2d(2, stride=1)
 * decoder: ConvTranspose2d(8, 16, 3, stride=2), ReLU,
 *          ConvTranspose2d(16, 8, 5, stride=3, padding=1), ReLU,
 *          ConvTranspose2d(8, 3, 6, stride=2, padding=1), Tanh
 * ```
 */
export const CONV_AUTOENCODER: AutoencoderArchitecture = {
  name: 'ConvAutoencoder',
  encoder: [
    { type: 'Conv2d', name: 'encoder.0', inChannels: 3, outChannels: 16, kernelSize: 3, stride: 3, padding: 1 },
    { type: 'ReLU', name: 'encoder.1' },
    { type: 'MaxPool2d', name: 'encoder.2', kernelSize: 2, stride: 2 },
    { type: 'Conv2d', name: 'encoder.3', inChannels: 16, outChannels: 8, kernelSize: 3, stride: 2, padding: 1 },
    { type: 'ReLU', name: 'encoder.4' },
    { type: 'MaxPool2d', name: 'encoder.5', kernelSize: 2, stride: 1 },
  ],
  decoder: [
    {
      type: 'ConvTranspose2d',
      name: 'decoder.0',
      inChannels: 8,
      outChannels: 16,
      kernelSize: 3,
      stride: 2,
      padding: 0,
    },
    { type: 'ReLU', name: 'decoder.1' },
    {
      type: 'ConvTranspose2d',
      name: 'decoder.2',
      inChannels: 16,
      outChannels: 8,
      kernelSize: 5,
      stride: 3,
      padding: 1,
    },
    { type: 'ReLU', name: 'decoder.3' },
    { type: 'ConvTranspose2d', name: 'decoder.4', inChannels: 8, outChannels: 3, kernelSize: 6, stride: 2, padding: 1 },
    { type: 'Tanh', name: 'decoder.5' },
  ],
};

/**
 * The notebook's small convolutional autoencoder (6,851 parameters; latent 8x42x42 at 512x512).
 *
 * It reproduces its input size only for sizes that are 8 mod 12 (68, 80, ..., 128, ..., 512): its decoder outputs
 * `12 * latentSide + 8`. Other sizes are rejected with the nearest valid ones.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { ConvAutoencoder } from 'cbir-core';
 *
 * const ae = new ConvAutoencoder({ inputSize: 128 });
 * console.log(ae.formatSummary());             // 6,851 parameters, latent 8x10x10
 * const x = tf.randomUniform([2, 128, 128, 3], -1, 1) as tf.Tensor4D;
 * const z = ae.encode(x);                        // [2, 10, 10, 8]
 * tf.dispose([x, z]);
 * ```
 */
export class ConvAutoencoder extends Autoencoder {
  /**
   * @param options - `inputSize` (default 512) and `seed`.
   * @throws {@link CbirError} (`INVALID_ARGUMENT`) if `inputSize` is not 8 mod 12, naming the nearest valid sizes.
   */
  constructor(options: AutoencoderOptions = {}) {
    super(CONV_AUTOENCODER, options);
  }
}
