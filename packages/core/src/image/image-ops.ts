import { CbirError } from '../errors.js';
import type { RawImage } from './raw-image.js';

/**
 * The pixel operations of the hand-crafted features, written to give OpenCV's 8-bit results (`cv2.resize` with
 * `INTER_AREA`, `cvtColor` to grey and to Lab), so that features computed here match the Python reference scripts
 * in the browser as in Node. They are written by hand because no maintained JS library reproduces OpenCV's rounding,
 * and the features are compared against OpenCV in the tests.
 */

/** A single-channel 8-bit image (grey), row-major. */
export interface GrayImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Checks an image's buffer against its size. @internal */
export function checkImage(where: string, image: RawImage | GrayImage): void {
  const channels = 'channels' in image ? image.channels : 1;
  if (!(image.width >= 1 && image.height >= 1) || image.data.length !== image.width * image.height * channels) {
    throw new CbirError(
      'INVALID_ARGUMENT',
      `${where}: the image has ${image.data.length} bytes for ${image.width}x${image.height}x${channels}; expected a non-empty image with width * height * channels bytes.`,
    );
  }
}

/**
 * The image as 3-channel RGB (grey repeated, alpha dropped); the same object when it already is.
 *
 * @example
 * ```ts
 * const rgb = toRgb(pngWithAlpha);   // 3 channels: alpha dropped, grey repeated
 * ```
 */
export function toRgb(image: RawImage): RawImage {
  checkImage('toRgb', image);
  if (image.channels === 3) return image;
  const n = image.width * image.height;
  const out = new Uint8Array(n * 3);
  for (let p = 0; p < n; p++) {
    const o = p * image.channels;
    const r = image.data[o];
    out[3 * p] = r;
    out[3 * p + 1] = image.channels === 1 ? r : image.data[o + 1];
    out[3 * p + 2] = image.channels === 1 ? r : image.data[o + 2];
  }
  return { data: out, width: image.width, height: image.height, channels: 3 };
}

/**
 * Grey as OpenCV's `COLOR_RGB2GRAY` on 8-bit images, bit for bit: `(9798 R + 19235 G + 3735 B + 16384) >> 15` (OpenCV 4's
 * 15-bit coefficients, checked against `cv2.cvtColor` on 200,000 random colours).
 *
 * @example
 * ```ts
 * const g = toGray(image);   // { data, width, height }
 * ```
 */
export function toGray(image: RawImage): GrayImage {
  checkImage('toGray', image);
  const n = image.width * image.height;
  const out = new Uint8Array(n);
  const { data, channels } = image;
  if (channels === 1) out.set(data);
  else
    for (let p = 0, o = 0; p < n; p++, o += channels)
      out[p] = (9798 * data[o] + 19235 * data[o + 1] + 3735 * data[o + 2] + 16384) >> 15;
  return { data: out, width: image.width, height: image.height };
}

const fr = Math.fround;
/** OpenCV's `sRGBGammaTab_b`: sRGB decoded to linear, times 255 * 2^3, in float32 as OpenCV computes it. */
const SRGB_GAMMA_B = Int32Array.from({ length: 256 }, (_, i) => {
  const x = fr(i * fr(1 / 255));
  const v = x <= fr(0.04045) ? fr(x * fr(1 / 12.92)) : fr(((x + 0.055) / 1.055) ** 2.4);
  return roundEven(fr(2040 * v));
});
/**
 * OpenCV's `LabCbrtTab_b`: Lab's f(t) on 1/2040 steps, times 2^15. At step 324 OpenCV's float32 cube root lands
 * just below a rounding tie that the float64 one lands on; that entry is OpenCV's (checked on 2,000,000 colours).
 */
const LAB_CBRT_B = Int32Array.from({ length: 3072 }, (_, i) => {
  if (i === 324) return 17745;
  const x = fr(i * fr(1 / 2040));
  const v = x < fr(0.008856) ? fr(fr(x * fr(7.787)) + fr(0.13793103448275862)) : fr(Math.cbrt(x));
  return roundEven(fr(32768 * v));
});
/** sRGB to XYZ (D65) over the white point, in 12-bit fixed point (`RGB2Lab_b`'s coefficients). */
const LAB_COEFFS = (() => {
  const m = [0.412453, 0.35758, 0.180423, 0.212671, 0.71516, 0.072169, 0.019334, 0.119193, 0.950227];
  const white = [0.950456, 1, 1.088754];
  return m.map((v, i) => roundEven((4096 * v) / white[Math.floor(i / 3)]));
})();

/**
 * CIE Lab (D65) in 8 bits as OpenCV's `COLOR_RGB2Lab` stores it (`L * 255 / 100`, `a + 128`, `b + 128`),
 * interleaved like the input, bit for bit: OpenCV's fixed-point `RGB2Lab_b` with its gamma and cube-root tables.
 *
 * @example
 * ```ts
 * const lab = toLab(image);   // Uint8Array, L a b interleaved, as cv2.cvtColor(COLOR_RGB2Lab)
 * ```
 */
export function toLab(image: RawImage): Uint8Array {
  const rgb = toRgb(image);
  const n = rgb.width * rgb.height;
  const out = new Uint8Array(n * 3);
  const [c0, c1, c2, c3, c4, c5, c6, c7, c8] = LAB_COEFFS;
  const descale = (x: number, s: number) => (x + (1 << (s - 1))) >> s;
  const lShift = -Math.floor((16 * 255 * (1 << 15) + 50) / 100);
  for (let p = 0; p < 3 * n; p += 3) {
    const r = SRGB_GAMMA_B[rgb.data[p]];
    const g = SRGB_GAMMA_B[rgb.data[p + 1]];
    const b = SRGB_GAMMA_B[rgb.data[p + 2]];
    const fx = LAB_CBRT_B[descale(r * c0 + g * c1 + b * c2, 12)];
    const fy = LAB_CBRT_B[descale(r * c3 + g * c4 + b * c5, 12)];
    const fz = LAB_CBRT_B[descale(r * c6 + g * c7 + b * c8, 12)];
    out[p] = clamp8(descale(296 * fy + lShift, 15));
    out[p + 1] = clamp8(descale(500 * (fx - fy) + (128 << 15), 15));
    out[p + 2] = clamp8(descale(200 * (fy - fz) + (128 << 15), 15));
  }
  return out;
}

function clamp8(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** Rounds half to even, as OpenCV's `cvRound` (and `saturate_cast<uchar>` of a float). */
function roundEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Source taps and weights of one axis of OpenCV's `INTER_AREA` downscale (`computeResizeAreaTab`). */
function areaTaps(src: number, dst: number): { index: Int32Array; weight: Float64Array; start: Int32Array } {
  const scale = src / dst;
  const index: number[] = [];
  const weight: number[] = [];
  const start = new Int32Array(dst + 1);
  for (let d = 0; d < dst; d++) {
    start[d] = index.length;
    const fs1 = d * scale;
    const fs2 = fs1 + scale;
    const cell = Math.min(scale, src - fs1);
    let s1 = Math.ceil(fs1);
    const s2 = Math.min(Math.floor(fs2), src - 1);
    s1 = Math.min(s1, s2);
    if (s1 - fs1 > 1e-3) {
      index.push(s1 - 1);
      weight.push((s1 - fs1) / cell);
    }
    for (let s = s1; s < s2; s++) {
      index.push(s);
      weight.push(1 / cell);
    }
    if (Math.min(Math.min(fs2, src) - s2, 1) > 1e-3) {
      index.push(s2);
      weight.push(Math.min(Math.min(fs2 - s2, 1), cell) / cell);
    }
  }
  start[dst] = index.length;
  return { index: Int32Array.from(index), weight: Float64Array.from(weight), start };
}

/** Taps of one axis of OpenCV's `INTER_AREA` upscale: linear between neighbours only near cell edges. */
function upscaleTaps(src: number, dst: number): { index: Int32Array; weight: Float64Array; start: Int32Array } {
  const scale = src / dst;
  const inv = dst / src;
  const index = new Int32Array(2 * dst);
  const weight = new Float64Array(2 * dst);
  const start = Int32Array.from({ length: dst + 1 }, (_, d) => 2 * d);
  for (let d = 0; d < dst; d++) {
    let s = Math.floor(d * scale);
    let f = d + 1 - (s + 1) * inv;
    f = f <= 0 ? 0 : f - Math.floor(f);
    if (s < 0) [f, s] = [0, 0];
    if (s >= src - 1) [f, s] = [0, src - 1];
    index[2 * d] = s;
    index[2 * d + 1] = Math.min(s + 1, src - 1);
    weight[2 * d] = 1 - f;
    weight[2 * d + 1] = f;
  }
  return { index, weight, start };
}

/**
 * Resizes as `cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)` on 8-bit images: a box filter with
 * fractional edge weights when shrinking (OpenCV's fast integer path, `(sum + 2) >> 2`, when halving), and OpenCV's
 * area-style linear filter when enlarging. Any channel count.
 *
 * @example
 * ```ts
 * const small = resizeArea(image, 128, 128);
 * ```
 */
export function resizeArea<T extends RawImage | GrayImage>(image: T, width: number, height: number): T {
  checkImage('resizeArea', image);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new CbirError(
      'INVALID_ARGUMENT',
      `resizeArea: width and height must be positive integers, got ${width}x${height}.`,
    );
  }
  const channels = 'channels' in image ? image.channels : 1;
  const { width: sw, height: sh, data } = image;
  const out = new Uint8Array(width * height * channels);
  if (sw === width && sh === height) out.set(data);
  else if (sw === 2 * width && sh === 2 * height) {
    // OpenCV's vectorised 2x2 average rounds half up.
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        for (let c = 0; c < channels; c++) {
          const o = (2 * y * sw + 2 * x) * channels + c;
          out[(y * width + x) * channels + c] =
            (data[o] + data[o + channels] + data[o + sw * channels] + data[o + (sw + 1) * channels] + 2) >> 2;
        }
      }
    }
  } else {
    const tx = sw >= width ? areaTaps(sw, width) : upscaleTaps(sw, width);
    const ty = sh >= height ? areaTaps(sh, height) : upscaleTaps(sh, height);
    const row = new Float64Array(width * channels);
    for (let y = 0; y < height; y++) {
      row.fill(0);
      for (let a = ty.start[y]; a < ty.start[y + 1]; a++) {
        const wy = ty.weight[a];
        if (wy === 0) continue;
        const src = ty.index[a] * sw * channels;
        for (let x = 0; x < width; x++) {
          for (let b = tx.start[x]; b < tx.start[x + 1]; b++) {
            const w = wy * tx.weight[b];
            const o = src + tx.index[b] * channels;
            for (let c = 0; c < channels; c++) row[x * channels + c] += w * data[o + c];
          }
        }
      }
      for (let i = 0; i < row.length; i++) out[y * width * channels + i] = clamp8(roundEven(row[i]));
    }
  }
  return { ...image, data: out, width, height };
}

/** Python's `round` (half to even), which the reference uses for the resized sides. */
function pyRound(v: number): number {
  return roundEven(v);
}

/**
 * Resizes so that the short side is `short` pixels (`INTER_AREA`, the long side rounded as Python rounds), then
 * optionally takes the centre `short x short` square: the reference scripts' `load_bgr`.
 *
 * @example
 * ```ts
 * const square = resizeShortSide(image, 256, true);   // 256 x 256, centre crop
 * ```
 */
export function resizeShortSide<T extends RawImage | GrayImage>(image: T, short: number, crop: boolean): T {
  checkImage('resizeShortSide', image);
  const s = short / Math.min(image.width, image.height);
  const nh = Math.max(short, pyRound(image.height * s));
  const nw = Math.max(short, pyRound(image.width * s));
  const resized = resizeArea(image, nw, nh);
  return crop ? cropImage(resized, Math.floor((nw - short) / 2), Math.floor((nh - short) / 2), short, short) : resized;
}

/**
 * The `width x height` region of `image` at `(x0, y0)`, copied.
 *
 * @example
 * ```ts
 * const centre = cropImage(image, 64, 0, 256, 256);
 * ```
 */
export function cropImage<T extends RawImage | GrayImage>(
  image: T,
  x0: number,
  y0: number,
  width: number,
  height: number,
): T {
  const channels = 'channels' in image ? image.channels : 1;
  if (x0 < 0 || y0 < 0 || x0 + width > image.width || y0 + height > image.height || width < 1 || height < 1) {
    throw new CbirError(
      'INVALID_ARGUMENT',
      `cropImage: the region ${width}x${height} at (${x0}, ${y0}) is not inside the ${image.width}x${image.height} image.`,
    );
  }
  const out = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    const from = ((y0 + y) * image.width + x0) * channels;
    out.set(image.data.subarray(from, from + width * channels), y * width * channels);
  }
  return { ...image, data: out, width, height };
}

/**
 * The cell edges of a `g`-way split of `n` pixels, as `np.linspace(0, n, g + 1).astype(int)`: `g + 1` values from 0
 * to `n`.
 */
export function gridEdges(n: number, g: number): number[] {
  const step = n / g;
  return Array.from({ length: g + 1 }, (_, i) => (i === g ? n : Math.trunc(i * step)));
}
