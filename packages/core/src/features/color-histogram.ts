import { CbirError } from '../errors.js';
import type { RawImage } from '../image/raw-image.js';

/** Options of {@link colorHistogram}. */
export interface ColorHistogramOptions {
  /** Colour space: `'hsv'` as OpenCV computes it for 8-bit images (H in [0, 180), S and V in [0, 256)), or `'rgb'`. @defaultValue 'hsv' */
  space?: 'hsv' | 'rgb';
  /** Bins per channel (one number for all three). @defaultValue [8, 12, 3] for hsv, 8 for rgb */
  bins?: number | readonly [number, number, number];
  /** One joint 3-D histogram (`b0 * b1 * b2` values), or the three per-channel histograms concatenated (`b0 + b1 + b2`). @defaultValue true */
  joint?: boolean;
  /** `'l1'`: values sum to 1 (each per-channel histogram when not joint); `'l2'`: unit length; `'none'`: counts. @defaultValue 'l1' */
  normalize?: 'l1' | 'l2' | 'none';
}

/**
 * The length of {@link colorHistogram}'s vector for these options, which it checks (call it to validate options early).
 *
 * @throws {@link CbirError} for an unknown space or normalisation, or bad bins.
 * @example
 * ```ts
 * colorHistogramDim();                                   // 288 (joint HSV 8x12x3)
 * colorHistogramDim({ space: 'rgb', bins: 4, joint: false }); // 12
 * ```
 */
export function colorHistogramDim(options: ColorHistogramOptions = {}): number {
  const b = resolveBins(options);
  return (options.joint ?? true) ? b[0] * b[1] * b[2] : b[0] + b[1] + b[2];
}

/**
 * A colour histogram of an image: the classic CBIR baseline (Swain and Ballard's colour indexing), and a yardstick for
 * learned features. Bins are uniform over each channel's range, as `cv2.calcHist` with uniform ranges.
 *
 * @param image - RGB or RGBA (alpha ignored) or grayscale (treated as R = G = B).
 * @example
 * ```ts
 * const v = colorHistogram(image);                                  // joint HSV 8x12x3 = 288 values summing to 1
 * const w = colorHistogram(image, { space: 'rgb', bins: 4, joint: false });   // 12 values
 * ```
 */
export function colorHistogram(image: RawImage, options: ColorHistogramOptions = {}): Float32Array {
  const space = options.space ?? 'hsv';
  const joint = options.joint ?? true;
  const b = resolveBins(options);
  const { data, width, height, channels } = image;
  if (data.length !== width * height * channels || width * height === 0) {
    throw new CbirError(
      'INVALID_ARGUMENT',
      `colorHistogram: image data has ${data.length} bytes for ${width}x${height}x${channels}; expected width * height * channels > 0.`,
    );
  }
  const ranges = space === 'hsv' ? [180, 256, 256] : [256, 256, 256];
  const out = new Float64Array(joint ? b[0] * b[1] * b[2] : b[0] + b[1] + b[2]);
  const hsv = [0, 0, 0];
  for (let p = 0; p < width * height; p++) {
    const o = p * channels;
    const r = data[o];
    const g = channels >= 3 ? data[o + 1] : r;
    const bl = channels >= 3 ? data[o + 2] : r;
    if (space === 'hsv') rgbToHsvOpenCv(r, g, bl, hsv);
    else [hsv[0], hsv[1], hsv[2]] = [r, g, bl];
    const i0 = Math.floor((hsv[0] * b[0]) / ranges[0]);
    const i1 = Math.floor((hsv[1] * b[1]) / ranges[1]);
    const i2 = Math.floor((hsv[2] * b[2]) / ranges[2]);
    if (joint) out[(i0 * b[1] + i1) * b[2] + i2]++;
    else {
      out[i0]++;
      out[b[0] + i1]++;
      out[b[0] + b[1] + i2]++;
    }
  }
  const mode = options.normalize ?? 'l1';
  if (mode === 'l2') {
    const s = Math.sqrt(out.reduce((a, v) => a + v * v, 0));
    for (let i = 0; i < out.length; i++) out[i] /= s;
  } else if (mode === 'l1') {
    // Each histogram sums to 1: one for a joint histogram, three for per-channel ones.
    const n = width * height;
    for (let i = 0; i < out.length; i++) out[i] /= n;
  }
  return Float32Array.from(out);
}

function resolveBins(options: ColorHistogramOptions): [number, number, number] {
  const space = options.space ?? 'hsv';
  if (space !== 'hsv' && space !== 'rgb')
    throw new CbirError(
      'INVALID_ARGUMENT',
      `colorHistogram: space must be 'hsv' or 'rgb', got ${JSON.stringify(space)}.`,
    );
  const mode = options.normalize ?? 'l1';
  if (mode !== 'l1' && mode !== 'l2' && mode !== 'none')
    throw new CbirError(
      'INVALID_ARGUMENT',
      `colorHistogram: normalize must be 'l1', 'l2' or 'none', got ${JSON.stringify(mode)}.`,
    );
  const given = options.bins ?? (space === 'hsv' ? [8, 12, 3] : 8);
  const b = (typeof given === 'number' ? [given, given, given] : [...given]) as [number, number, number];
  if (b.length !== 3 || b.some((v) => !Number.isInteger(v) || v < 1 || v > 256)) {
    throw new CbirError(
      'INVALID_ARGUMENT',
      `colorHistogram: bins must be an integer from 1 to 256 or three of them, got ${JSON.stringify(given)}.`,
    );
  }
  return b;
}

const HSV_SHIFT = 12;
/** OpenCV's `sdiv_table` and `hdiv_table180`: fixed-point reciprocals, rounded to nearest as `saturate_cast<int>`. */
/** @internal */
export const SDIV = Int32Array.from({ length: 256 }, (_, i) => (i === 0 ? 0 : Math.round((255 << HSV_SHIFT) / i)));
/** @internal */
export const HDIV = Int32Array.from({ length: 256 }, (_, i) =>
  i === 0 ? 0 : Math.round((180 << HSV_SHIFT) / (6 * i)),
);

/**
 * OpenCV's 8-bit RGB -> HSV (`COLOR_RGB2HSV`, the fixed-point `RGB2HSV_b`), bit for bit: H in [0, 180), S and V in
 * [0, 255].
 * @internal
 */
export function rgbToHsvOpenCv(r: number, g: number, b: number, out: number[]): void {
  const v = Math.max(r, g, b);
  const diff = v - Math.min(r, g, b);
  const s = (diff * SDIV[v] + (1 << (HSV_SHIFT - 1))) >> HSV_SHIFT;
  let h = v === r ? g - b : v === g ? b - r + 2 * diff : r - g + 4 * diff;
  h = (h * HDIV[diff] + (1 << (HSV_SHIFT - 1))) >> HSV_SHIFT;
  if (h < 0) h += 180;
  out[0] = h;
  out[1] = s;
  out[2] = v;
}
