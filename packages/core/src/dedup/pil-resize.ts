import type { RawImage } from '../image/raw-image.js';

// Pillow's Lanczos resize and grey conversion, reproduced to the bit (Pillow 9-10, src/libImaging/Resample.c and
// Convert.c), because imagededup's hashes are computed on exactly these pixels: a resize that differs by one grey level
// flips bits near the mean or the median, and the hashes would no longer equal imagededup's for the same file.
// Written by hand: no JS library reproduces Pillow's fixed-point two-pass resampler.

/** Fixed-point fraction bits of Pillow's 8-bit resampler (`PRECISION_BITS`). */
const PRECISION_BITS = 32 - 8 - 2;
const ONE = 2 ** PRECISION_BITS;
const HALF = 2 ** (PRECISION_BITS - 1);

function sinc(x: number): number {
  if (x === 0) return 1;
  x *= Math.PI;
  return Math.sin(x) / x;
}

/** Pillow's `lanczos_filter`: a sinc windowed by a sinc three times wider, support 3. */
function lanczos(x: number): number {
  return -3 <= x && x < 3 ? sinc(x) * sinc(x / 3) : 0;
}

/**
 * Pillow's `precompute_coeffs` then `normalize_coeffs_8bpc`: for each output position, its first input index, its
 * count, and its integer weights (the float weights normalised to sum 1, scaled by 2^22 and rounded half away from 0).
 */
function coefficients(inSize: number, outSize: number): { bounds: Int32Array; kk: Int32Array; ksize: number } {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = 3 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const kk = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterscale;
    // C's (int) truncates toward zero.
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = lanczos((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (let x = 0; x < xmax; x++) {
      const w = ww !== 0 ? k[x] / ww : k[x];
      kk[xx * ksize + x] = Math.trunc(w < 0 ? -0.5 + w * ONE : 0.5 + w * ONE);
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { bounds, kk, ksize };
}

/**
 * Pillow's `clip8`: the accumulator shifted down (arithmetically), clamped to a byte. The sums are exact in float64 and
 * stay within int32 as Pillow's `int` accumulator does: a weight is at most 2^22 and the positive ones sum to under
 * 1.2, so no partial sum of bytes times weights leaves int32.
 */
function clip8(ss: number): number {
  const v = ss >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/**
 * The RGB planes of an image as Pillow's `convert('RGBA').convert('RGB')` gives them (imagededup's loading): grey
 * replicated, alpha dropped (not composited).
 */
function rgbOf(image: RawImage): Uint8Array {
  const { width, height, channels, data } = image;
  // A plain Uint8Array view (a Node Buffer is a subclass, and mixing the two makes the loops' loads polymorphic).
  if (channels === 3) return new Uint8Array(data.buffer, data.byteOffset, data.length);
  const out = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++)
    for (let c = 0; c < 3; c++) out[p * 3 + c] = data[p * channels + (channels === 1 ? 0 : c)];
  return out;
}

/**
 * `image.convert('RGB').resize((width, height), Image.LANCZOS).convert('L')` as Pillow computes it: the two 8-bit
 * passes (horizontal, then vertical; a pass is skipped when that side keeps its size), then
 * `L = (19595 R + 38470 G + 7471 B + 0x8000) >> 16`. Returns `height x width` grey levels, row-major.
 */
export function pilLanczosGrey(image: RawImage, width: number, height: number): Uint8Array {
  const inW = image.width;
  const inH = image.height;
  let rgb = rgbOf(image);
  let w = inW;
  if (width !== inW) {
    const { bounds, kk, ksize } = coefficients(inW, width);
    const out = new Uint8Array(width * inH * 3);
    for (let y = 0; y < inH; y++) {
      const row = y * inW * 3;
      for (let xx = 0; xx < width; xx++) {
        const xmax = bounds[xx * 2 + 1];
        const k0 = xx * ksize;
        let o = row + bounds[xx * 2] * 3;
        let r = HALF;
        let g = HALF;
        let b = HALF;
        for (let x = 0; x < xmax; x++, o += 3) {
          const k = kk[k0 + x];
          r += rgb[o] * k;
          g += rgb[o + 1] * k;
          b += rgb[o + 2] * k;
        }
        const at = (y * width + xx) * 3;
        out[at] = clip8(r);
        out[at + 1] = clip8(g);
        out[at + 2] = clip8(b);
      }
    }
    rgb = out;
    w = width;
  }
  if (height !== inH) {
    const { bounds, kk, ksize } = coefficients(inH, height);
    const out = new Uint8Array(w * height * 3);
    const line = w * 3;
    const acc = new Float64Array(line);
    for (let yy = 0; yy < height; yy++) {
      const ymin = bounds[yy * 2];
      const ymax = bounds[yy * 2 + 1];
      // Row by row, so that the inner loop reads memory in order: the same sums as Pillow's, term for term.
      acc.fill(HALF);
      for (let y = 0; y < ymax; y++) {
        const k = kk[yy * ksize + y];
        const src = (y + ymin) * line;
        for (let i = 0; i < line; i++) acc[i] += rgb[src + i] * k;
      }
      for (let i = 0; i < line; i++) out[yy * line + i] = clip8(acc[i]);
    }
    rgb = out;
  }
  const grey = new Uint8Array(width * height);
  for (let p = 0; p < width * height; p++)
    grey[p] = (rgb[p * 3] * 19595 + rgb[p * 3 + 1] * 38470 + rgb[p * 3 + 2] * 7471 + 0x8000) >>> 16;
  return grey;
}
