import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { ImageDecodeError, encodePng, sharpDecoder } from 'cbir-node';

const solid = (channels: 1 | 2 | 3 | 4, width = 40, height = 20) =>
  sharp({ create: { width, height, channels: channels as 3, background: { r: 200, g: 100, b: 50, alpha: 0.5 } } });

describe('sharpDecoder', () => {
  it('turns grayscale, gray+alpha, RGB and RGBA into 3-channel RGB', async () => {
    for (const channels of [3, 4] as const) {
      const png = await solid(channels).png().toBuffer();
      const img = await sharpDecoder().decode(new Uint8Array(png));
      expect(img).toMatchObject({ width: 40, height: 20, channels: 3 });
      expect(Array.from(img.data.subarray(0, 3))).toEqual([200, 100, 50]);
    }
    const gray = await solid(3).grayscale().png().toBuffer();
    const g = await sharpDecoder().decode(new Uint8Array(gray));
    expect(g.channels).toBe(3);
    expect(g.data[0]).toBe(g.data[1]);
    expect(g.data[1]).toBe(g.data[2]);
  });

  it('reads 16-bit PNG and CMYK JPEG', async () => {
    const png16 = await solid(3).toColourspace('rgb16').png().toBuffer();
    expect((await sharpDecoder().decode(new Uint8Array(png16))).channels).toBe(3);
    const cmyk = await solid(3).toColourspace('cmyk').jpeg().toBuffer();
    const img = await sharpDecoder().decode(new Uint8Array(cmyk));
    expect(img.channels).toBe(3);
    expect(Math.abs(img.data[0] - 200)).toBeLessThan(20);
  });

  it('resizes to size x size with each fit', async () => {
    const png = await solid(3, 80, 40).png().toBuffer();
    for (const fit of ['cover', 'contain', 'fill'] as const) {
      const img = await sharpDecoder({ size: 32, fit }).decode(new Uint8Array(png));
      expect([img.width, img.height, img.data.length]).toEqual([32, 32, 32 * 32 * 3]);
    }
    const contain = await sharpDecoder({ size: 32, fit: 'contain' }).decode(new Uint8Array(png));
    expect(Array.from(contain.data.subarray(0, 3))).toEqual([0, 0, 0]); // letterbox
  });

  it('reports a file that is not an image with ImageDecodeError naming it', async () => {
    await expect(sharpDecoder().decode(new TextEncoder().encode('not an image'))).rejects.toBeInstanceOf(
      ImageDecodeError,
    );
    await expect(sharpDecoder().decode('/nonexistent/cat.jpg')).rejects.toThrow(
      /cannot decode \/nonexistent\/cat\.jpg/,
    );
  });

  it('round-trips through encodePng', async () => {
    const img = await sharpDecoder().decode(new Uint8Array(await solid(3).png().toBuffer()));
    const back = await sharpDecoder().decode(await encodePng(img));
    expect(Array.from(back.data)).toEqual(Array.from(img.data));
  });
});
