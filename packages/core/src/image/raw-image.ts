import * as tf from '@tensorflow/tfjs-core';
import ndarray from 'ndarray';
import { DimensionMismatchError } from '../errors.js';

/**
 * A decoded image in one neutral layout: 8-bit, row-major `[height, width, channels]`, channels interleaved.
 * Platform packages produce it (sharp in Node, canvas in the browser); core consumes it.
 */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 3 | 4;
}

/** Decodes some platform-specific source (a path, a Blob, ...) into a {@link RawImage}. */
export interface ImageDecoder<Source = unknown> {
  readonly name: string;
  /** Decodes `source` to pixels. @throws {@link ImageDecodeError} when it is not a readable image. */
  decode(source: Source): Promise<RawImage>;
}

/**
 * A strided `[height, width, channels]` view of an image's pixels, without copying (`view.get(y, x, c)`).
 *
 * @example
 * ```ts
 * const px = pixelView(image);   // ndarray [height, width, channels] over image.data
 * px.get(0, 0, 1);               // green of the top-left pixel
 * ```
 */
export function pixelView(image: RawImage): ndarray.NdArray<Uint8Array> {
  return ndarray(image.data, [image.height, image.width, image.channels]);
}

/**
 * Stacks RGB images into the models' input: an NHWC float32 tensor in [-1, 1], `x / 127.5 - 1`, which is the
 * notebook's `ToTensor()` + `Normalize((0.5,) * 3, (0.5,) * 3)` in channels-last order. Grayscale is repeated to RGB,
 * alpha is dropped.
 *
 * @param images - Images that all have the same `size` x `size` dimensions.
 * @returns Shape `[images.length, size, size, 3]`. The caller disposes it.
 * @throws {@link DimensionMismatchError} if an image is not `size` x `size`.
 *
 * @example
 * ```ts
 * const x = imagesToTensor([image], 128);   // tf.Tensor4D [1, 128, 128, 3] in [-1, 1]
 * const z = ae.encode(x);
 * tf.dispose([x, z]);
 * ```
 */
export function imagesToTensor(images: readonly RawImage[], size: number): tf.Tensor4D {
  return tf.tensor4d(imagesToPixels(images, size), [images.length, size, size, 3]);
}

/** {@link imagesToTensor}'s values as a plain array (NHWC, [-1, 1]), with no tensor made. */
export function imagesToPixels(images: readonly RawImage[], size: number): Float32Array {
  const out = new Float32Array(images.length * size * size * 3);
  images.forEach((img, n) => {
    if (img.width !== size || img.height !== size) {
      throw new DimensionMismatchError(
        `imagesToTensor: image ${n} is ${img.width}x${img.height}, expected ${size}x${size}. Resize it first.`,
      );
    }
    const px = pixelView(img);
    const base = n * size * size * 3;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        for (let c = 0; c < 3; c++) {
          out[base + (y * size + x) * 3 + c] = px.get(y, x, img.channels === 1 ? 0 : c) / 127.5 - 1;
        }
      }
    }
  });
  return out;
}

/**
 * Converts one image of a model's output (NHWC in [-1, 1]) back to 8-bit RGB.
 *
 * @param x - Shape `[1, h, w, 3]` or `[h, w, 3]`.
 *
 * @example
 * ```ts
 * const image = tensorToImage(ae.reconstruct(x).squeeze([0]));   // RawImage, [-1, 1] mapped to 0..255
 * ```
 */
export function tensorToImage(x: tf.Tensor): RawImage {
  const [h, w] = x.rank === 4 ? x.shape.slice(1, 3) : x.shape.slice(0, 2);
  const values = x.dataSync();
  const data = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) data[i] = Math.max(0, Math.min(255, Math.round((values[i] + 1) * 127.5)));
  return { data, width: w, height: h, channels: 3 };
}
