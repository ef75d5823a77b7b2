import { ImageDecodeError, type ImageDecoder, type RawImage } from 'cbir-core';

/** What {@link canvasDecoder} decodes. */
export type BrowserImageSource = Blob | ImageBitmap | HTMLImageElement;

/** Options of {@link canvasDecoder}. */
export interface CanvasDecoderOptions {
  /** Side of the square RGB output. */
  size: number;
  /**
   * How the image fills the square, as in cbir-node: `cover` (scale to fill, centre-crop; the default), `contain`
   * (scale to fit, pad with black) or `fill` (stretch).
   */
  fit?: 'cover' | 'contain' | 'fill';
}

/**
 * Decodes images in the browser with `createImageBitmap` and an `OffscreenCanvas` into cbir's `RawImage`: square,
 * RGB, `size` x `size`, resized by `fit` as cbir-node's sharp decoder does. One difference: the browser resamples with
 * its own filter (`imageSmoothingQuality = 'high'`, usually bicubic or Lanczos), sharp with Lanczos-3, so pixels differ
 * by a few grey levels; EXIF orientation is applied by both.
 *
 * @example
 * ```ts
 * const decoder = canvasDecoder({ size: 128 });
 * const image = await decoder.decode(fileInput.files[0]);
 * ```
 */
export function canvasDecoder(options: CanvasDecoderOptions): ImageDecoder<BrowserImageSource> {
  const { size, fit = 'cover' } = options;
  return {
    name: 'canvas',
    async decode(source: BrowserImageSource): Promise<RawImage> {
      let bitmap: ImageBitmap;
      try {
        bitmap =
          source instanceof ImageBitmap ? source : await createImageBitmap(source, { imageOrientation: 'from-image' });
      } catch (e) {
        const name = (source as File).name ?? 'image';
        throw new ImageDecodeError(`canvasDecoder: ${name} is not a readable image (${(e as Error).message}).`, {
          cause: e,
        });
      }
      const canvas = new OffscreenCanvas(size, size);
      const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
      ctx.imageSmoothingEnabled = true;
      ctx.imageSmoothingQuality = 'high';
      ctx.fillStyle = '#000';
      ctx.fillRect(0, 0, size, size);
      const { width: w, height: h } = bitmap;
      if (fit === 'fill') ctx.drawImage(bitmap, 0, 0, size, size);
      else {
        const scale = fit === 'cover' ? Math.max(size / w, size / h) : Math.min(size / w, size / h);
        const dw = w * scale;
        const dh = h * scale;
        ctx.drawImage(bitmap, (size - dw) / 2, (size - dh) / 2, dw, dh);
      }
      if (!(source instanceof ImageBitmap)) bitmap.close();
      const rgba = ctx.getImageData(0, 0, size, size).data;
      const data = new Uint8Array(size * size * 3);
      for (let p = 0; p < size * size; p++) {
        data[3 * p] = rgba[4 * p];
        data[3 * p + 1] = rgba[4 * p + 1];
        data[3 * p + 2] = rgba[4 * p + 2];
      }
      return { data, width: size, height: size, channels: 3 };
    },
  };
}
