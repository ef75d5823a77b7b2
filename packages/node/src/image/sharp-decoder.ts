import sharp from 'sharp';
import { ImageDecodeError, type ImageDecoder, type RawImage } from 'cbir-core';

/** How an image is fitted into a square: sharp's `fit`. */
export type Fit = 'cover' | 'contain' | 'fill';

/** Options of {@link sharpDecoder}. */
export interface SharpDecoderOptions {
  /** Resize to `size` x `size`; omit to keep the image's own size. */
  size?: number;
  /**
   * How to fit a non-square image: `cover` crops the centre, `contain` letterboxes with black, `fill` stretches.
   * @defaultValue 'cover'
   */
  fit?: Fit;
  /**
   * Turn the image upright as its EXIF orientation says. Off, the pixels are taken as stored, as Pillow (and so
   * imagededup's hashes) takes them.
   * @defaultValue true
   */
  orient?: boolean;
}

/**
 * A decoder that reads any image sharp reads (JPEG, PNG, WebP, TIFF, GIF, AVIF, SVG) from a path or bytes, converts it
 * to 8-bit sRGB with 3 channels (grayscale, palette, CMYK, 16-bit and alpha all handled) and optionally resizes it
 * with sharp's Lanczos-3 kernel.
 *
 * @example
 * ```ts
 * const decoder = sharpDecoder({ size: 128 });
 * const image = await decoder.decode('photos/cat.jpg'); // { width: 128, height: 128, channels: 3, data }
 * ```
 */
export function sharpDecoder(options: SharpDecoderOptions = {}): ImageDecoder<string | Uint8Array> {
  const { size, fit = 'cover', orient = true } = options;
  return {
    name: `sharp${size ? `(${size}x${size}, ${fit})` : ''}`,
    async decode(source) {
      try {
        let pipeline = sharp(source, { failOn: 'error' });
        if (orient) pipeline = pipeline.rotate();
        pipeline = pipeline.toColourspace('srgb').removeAlpha();
        if (size) pipeline = pipeline.resize(size, size, { fit, kernel: 'lanczos3', background: { r: 0, g: 0, b: 0 } });
        const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
        if (info.channels !== 3) throw new Error(`expected 3 channels after conversion, got ${info.channels}`);
        return {
          data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
          width: info.width,
          height: info.height,
          channels: 3,
        } satisfies RawImage;
      } catch (cause) {
        const name = typeof source === 'string' ? source : `${source.length} bytes`;
        throw new ImageDecodeError(
          `sharpDecoder: cannot decode ${name}: ${(cause as Error).message}. Is it an image file?`,
          { cause },
        );
      }
    },
  };
}

/**
 * Encodes an RGB {@link RawImage} as PNG bytes.
 *
 * @example
 * ```ts
 * await writeFile('out.png', await encodePng(tensorToImage(reconstruction)));
 * ```
 */
export async function encodePng(image: RawImage): Promise<Uint8Array> {
  const buf = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } })
    .png()
    .toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}
