import { CbirError } from '../errors.js';
import { checkImage, gridEdges, resizeArea, toGray, toLab, type GrayImage } from '../image/image-ops.js';
import type { RawImage } from '../image/raw-image.js';
import { HDIV, SDIV } from './color-histogram.js';

/*
 * The hand-crafted blocks of the label-free retrieval study (../shared/reference/quality/hand_feats.py): a colour
 * grid, uniform LBP, colour moments and HOG. Each takes the image as the study gives it (the colour grid the whole
 * uncropped image, the others the 256-px centre square) and returns the study's vector in the study's order; the
 * tests compare them with OpenCV's on the same pixels.
 */

function checkGrid(where: string, grid: number): void {
  if (!Number.isInteger(grid) || grid < 1 || grid > 16)
    throw new CbirError('INVALID_ARGUMENT', `${where}: grid must be an integer from 1 to 16, got ${grid}.`);
}

/** Options of {@link colorGrid}. */
export interface ColorGridOptions {
  /** HSV bins (H over [0, 180), S and V over [0, 256)). @defaultValue [16, 4, 4] */
  bins?: readonly [number, number, number];
  /** The image is also split `grid x grid`, one histogram per cell. @defaultValue 2 */
  grid?: number;
}

/**
 * Joint HSV histograms of the whole image and of each cell of a `grid x grid` split, each summing to 1 (OpenCV's
 * 8-bit HSV and `calcHist` bins): `(1 + grid^2) * bins` values. The study's best colour block, `hsv16x4x4_grid2`, on
 * the uncropped image; compare it with Hellinger (see `hellinger`).
 *
 * @example
 * ```ts
 * const v = colorGrid(image);   // 5 x 256 = 1280 values
 * ```
 */
export function colorGrid(image: RawImage, options: ColorGridOptions = {}): Float32Array {
  checkImage('colorGrid', image);
  const bins = options.bins ?? [16, 4, 4];
  const grid = options.grid ?? 2;
  checkGrid('colorGrid', grid);
  if (bins.length !== 3 || bins.some((b) => !Number.isInteger(b) || b < 1 || b > 256))
    throw new CbirError(
      'INVALID_ARGUMENT',
      `colorGrid: bins must be three integers from 1 to 256, got ${JSON.stringify(bins)}.`,
    );
  const { width, height, channels, data } = image;
  const size = bins[0] * bins[1] * bins[2];
  const cells = 1 + grid * grid;
  const out = new Float64Array(cells * size);
  const xs = gridEdges(width, grid);
  const ys = gridEdges(height, grid);
  const cellOfX = new Int32Array(width);
  for (let j = 0; j < grid; j++) for (let x = xs[j]; x < xs[j + 1]; x++) cellOfX[x] = j;
  const counts = new Float64Array(cells);
  // Bin offsets by H, S and V value, so a pixel's bin is three lookups.
  const hBin = Int32Array.from(
    { length: 181 },
    (_, h) => Math.min(bins[0] - 1, Math.floor((h * bins[0]) / 180)) * bins[1] * bins[2],
  );
  const sBin = Int32Array.from({ length: 256 }, (_, v) => Math.floor((v * bins[1]) / 256) * bins[2]);
  const vBin = Int32Array.from({ length: 256 }, (_, v) => Math.floor((v * bins[2]) / 256));
  // Local names for the imported tables: some module loaders turn each use of an import into a getter call.
  const sdiv = SDIV;
  const hdiv = HDIV;
  for (let i = 0, y = 0; y < height; y++) {
    while (y >= ys[i + 1]) i++;
    const rowCell = 1 + i * grid;
    for (let x = 0, o = y * width * channels; x < width; x++, o += channels) {
      const r = data[o];
      const g = channels >= 3 ? data[o + 1] : r;
      const b = channels >= 3 ? data[o + 2] : r;
      // OpenCV's 8-bit RGB -> HSV (rgbToHsvOpenCv, inlined: this loop runs on every pixel of the full image).
      const v = Math.max(r, g, b);
      const diff = v - Math.min(r, g, b);
      const sat = (diff * sdiv[v] + 2048) >> 12;
      let h = v === r ? g - b : v === g ? b - r + 2 * diff : r - g + 4 * diff;
      h = (h * hdiv[diff] + 2048) >> 12;
      if (h < 0) h += 180;
      const bin = hBin[h] + sBin[sat] + vBin[v];
      out[(rowCell + cellOfX[x]) * size + bin]++;
    }
    for (let j = 0; j < grid; j++) counts[rowCell + j] += xs[j + 1] - xs[j];
  }
  // The whole image's histogram is the sum of its cells'.
  for (let c = 1; c < cells; c++) for (let k = 0; k < size; k++) out[k] += out[c * size + k];
  counts[0] = width * height;
  for (let c = 0; c < cells; c++) {
    const n = Math.max(counts[c], 1);
    for (let b = 0; b < size; b++) out[c * size + b] /= n;
  }
  return Float32Array.from(out);
}

/**
 * The number of values of {@link colorGrid} for these options.
 *
 * @example
 * ```ts
 * colorGridDim();                                   // 1280
 * colorGridDim({ bins: [8, 12, 3], grid: 3 });     // 2880
 * ```
 */
export function colorGridDim(options: ColorGridOptions = {}): number {
  const b = options.bins ?? [16, 4, 4];
  const g = options.grid ?? 2;
  return (1 + g * g) * b[0] * b[1] * b[2];
}

/** OpenCV-style uniform LBP: the 58 codes with at most two 0/1 transitions get bins 0..57, all others bin 58. */
const UNIFORM_LBP = (() => {
  const lut = new Uint8Array(256);
  let k = 0;
  for (let c = 0; c < 256; c++) {
    let transitions = 0;
    for (let i = 0; i < 8; i++) transitions += ((c >> i) & 1) !== ((c >> ((i + 1) % 8)) & 1) ? 1 : 0;
    lut[c] = transitions <= 2 ? k++ : 255;
  }
  for (let c = 0; c < 256; c++) if (lut[c] === 255) lut[c] = k;
  return lut;
})();

/** Options of {@link lbp}. */
export interface LbpOptions {
  /** Neighbour rings: the 8 pixels at this distance (square ring) are compared with the centre. @defaultValue [1, 2, 4] */
  radii?: readonly number[];
  /** Histograms of the whole code image and of each cell of a `grid x grid` split. @defaultValue 2 */
  grid?: number;
}

/**
 * Uniform local binary patterns of the grey image (OpenCV grey): for each radius, 59-bin code histograms of the whole
 * image and of each grid cell, each summing to 1: `radii * (1 + grid^2) * 59` values (885 by default). Texture,
 * insensitive to brightness. Give it the 256-px centre square, as the study does.
 *
 * @example
 * ```ts
 * const v = lbp(resizeShortSide(image, 256, true));   // 885 values
 * ```
 */
export function lbp(image: RawImage | GrayImage, options: LbpOptions = {}): Float32Array {
  checkImage('lbp', image);
  const radii = options.radii ?? [1, 2, 4];
  const grid = options.grid ?? 2;
  checkGrid('lbp', grid);
  const gray = 'channels' in image ? toGray(image) : image;
  const { width: W, height: H, data: g } = gray;
  if (radii.length === 0 || radii.some((r) => !Number.isInteger(r) || r < 1 || 2 * r >= Math.min(W, H))) {
    throw new CbirError(
      'INVALID_ARGUMENT',
      `lbp: radii must be positive integers below half the image's short side (${Math.min(W, H)} px), got ${JSON.stringify(radii)}.`,
    );
  }
  const cells = 1 + grid * grid;
  const out = new Float32Array(radii.length * cells * 59);
  radii.forEach((r, ri) => {
    const cw = W - 2 * r;
    const ch = H - 2 * r;
    const xs = gridEdges(cw, grid);
    const ys = gridEdges(ch, grid);
    const cellOfX = new Int32Array(cw);
    for (let j = 0; j < grid; j++) for (let x = xs[j]; x < xs[j + 1]; x++) cellOfX[x] = j;
    // Neighbours in the study's bit order: top-left, top, top-right, right, bottom-right, bottom, bottom-left, left.
    // Bit b is set when the neighbour is >= the centre, i.e. when centre - neighbour - 1 is negative (its sign bit):
    // branch-free, the hot loop of the three features' extraction.
    const [o0, o1, o2, o3, o4, o5, o6, o7] = [-r * W - r, -r * W, -r * W + r, r, r * W + r, r * W, r * W - r, -r];
    const hist = new Int32Array(cells * 59);
    const counts = new Float64Array(cells);
    for (let i = 0, y = 0; y < ch; y++) {
      while (y >= ys[i + 1]) i++;
      const rowCell = 1 + i * grid;
      let p = (y + r) * W + r;
      for (let x = 0; x < cw; x++, p++) {
        const c = g[p] - 1;
        const code =
          ((c - g[p + o0]) >>> 31) |
          (((c - g[p + o1]) >>> 31) << 1) |
          (((c - g[p + o2]) >>> 31) << 2) |
          (((c - g[p + o3]) >>> 31) << 3) |
          (((c - g[p + o4]) >>> 31) << 4) |
          (((c - g[p + o5]) >>> 31) << 5) |
          (((c - g[p + o6]) >>> 31) << 6) |
          (((c - g[p + o7]) >>> 31) << 7);
        hist[(rowCell + cellOfX[x]) * 59 + UNIFORM_LBP[code]]++;
      }
      for (let j = 0; j < grid; j++) counts[rowCell + j] += xs[j + 1] - xs[j];
    }
    // The whole image's histogram is the sum of its cells'.
    for (let c = 1; c < cells; c++) for (let b = 0; b < 59; b++) hist[b] += hist[c * 59 + b];
    counts[0] = cw * ch;
    for (let c = 0; c < cells; c++)
      for (let b = 0; b < 59; b++) out[(ri * cells + c) * 59 + b] = hist[c * 59 + b] / counts[c];
  });
  return out;
}

/** Options of {@link colorMoments}. */
export interface ColorMomentsOptions {
  /** Moments of the whole image and of each cell of a `grid x grid` split. @defaultValue 3 */
  grid?: number;
}

/**
 * Colour moments in CIE Lab (OpenCV's 8-bit Lab, divided by 255): for the whole image and each grid cell, the mean,
 * standard deviation and cube root of the third central moment of L, a and b: `(1 + grid^2) * 9` values (90 by
 * default). Stricker and Orengo's compact colour layout. Give it the 256-px centre square, as the study does.
 *
 * @example
 * ```ts
 * const v = colorMoments(resizeShortSide(image, 256, true));   // 90 values
 * ```
 */
export function colorMoments(image: RawImage, options: ColorMomentsOptions = {}): Float32Array {
  checkImage('colorMoments', image);
  const grid = options.grid ?? 3;
  checkGrid('colorMoments', grid);
  const lab = toLab(image);
  const { width: W, height: H } = image;
  const xs = gridEdges(W, grid);
  const ys = gridEdges(H, grid);
  const cellOfX = new Int32Array(W);
  for (let j = 0; j < grid; j++) for (let x = xs[j]; x < xs[j + 1]; x++) cellOfX[x] = j;
  // Lab values are 8-bit: count them per cell and channel (a 256-bin histogram), then take the sums of v, v^2 and v^3
  // (v = Lab / 255) from the counts, exactly, in float64. The whole image's sums are the cells' total.
  const cells = 1 + grid * grid;
  const hist = new Int32Array(cells * 3 * 256);
  const counts = new Float64Array(cells);
  for (let i = 0, y = 0; y < H; y++) {
    while (y >= ys[i + 1]) i++;
    const rowCell = 1 + i * grid;
    for (let x = 0, o = y * W * 3; x < W; x++, o += 3) {
      const h = (rowCell + cellOfX[x]) * 768;
      hist[h + lab[o]]++;
      hist[h + 256 + lab[o + 1]]++;
      hist[h + 512 + lab[o + 2]]++;
    }
    for (let j = 0; j < grid; j++) counts[rowCell + j] += xs[j + 1] - xs[j];
  }
  const sums = new Float64Array(cells * 9);
  for (let cell = 1; cell < cells; cell++) {
    for (let c = 0; c < 3; c++) {
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let v = 0, h = cell * 768 + c * 256; v < 256; v++) {
        const n = hist[h + v];
        if (n === 0) continue;
        const x = v / 255;
        s1 += n * x;
        s2 += n * x * x;
        s3 += n * x * x * x;
      }
      sums[cell * 9 + c] = s1;
      sums[cell * 9 + 3 + c] = s2;
      sums[cell * 9 + 6 + c] = s3;
    }
  }
  for (let c = 1; c < cells; c++) {
    counts[0] += counts[c];
    for (let k = 0; k < 9; k++) sums[k] += sums[c * 9 + k];
  }
  const out = new Float32Array(cells * 9);
  for (let cell = 0; cell < cells; cell++) {
    const n = counts[cell];
    for (let c = 0; c < 3; c++) {
      if (!n) continue;
      const m = sums[cell * 9 + c] / n;
      const e2 = sums[cell * 9 + 3 + c] / n;
      const e3 = sums[cell * 9 + 6 + c] / n;
      // Central moments from raw ones (values in [0, 1], float64: no cancellation worth the name).
      const var_ = Math.max(e2 - m * m, 0);
      out[cell * 9 + c] = m;
      out[cell * 9 + 3 + c] = Math.sqrt(var_);
      out[cell * 9 + 6 + c] = Math.cbrt(e3 - 3 * m * e2 + 2 * m * m * m);
    }
  }
  return out;
}

/** Options of {@link hog}. */
export interface HogOptions {
  /** The grey image is resized (`INTER_AREA`) to this square first. @defaultValue 128 */
  size?: number;
  /** Cell side in pixels; blocks are 2 x 2 cells, one cell apart. @defaultValue 16 */
  cell?: number;
  /** Orientation bins over [0, 180) degrees. @defaultValue 9 */
  bins?: number;
}

/**
 * Histograms of oriented gradients as OpenCV's `HOGDescriptor((128, 128), (32, 32), (16, 16), (16, 16), 9)`
 * computes them on a 128-px grey square: centred gradients (reflected borders), unsigned orientations split between
 * the two nearest bins, Gaussian-weighted (sigma 8) 2 x 2-cell blocks with bilinear cell weights, L2-Hys
 * normalisation (clip 0.2); blocks in OpenCV's column-major order. 1764 values by default. Shape, insensitive to
 * colour. Give it the 256-px centre square, as the study does.
 *
 * @example
 * ```ts
 * const v = hog(resizeShortSide(image, 256, true));   // 1764 values
 * ```
 */
export function hog(image: RawImage | GrayImage, options: HogOptions = {}): Float32Array {
  checkImage('hog', image);
  const size = options.size ?? 128;
  const cell = options.cell ?? 16;
  const nbins = options.bins ?? 9;
  if (
    !Number.isInteger(cell) ||
    cell < 2 ||
    !Number.isInteger(size) ||
    size < 2 * cell ||
    size % cell !== 0 ||
    !Number.isInteger(nbins) ||
    nbins < 2 ||
    nbins > 64
  ) {
    throw new CbirError(
      'INVALID_ARGUMENT',
      `hog: size must be a multiple of cell with at least 2 cells, and bins an integer from 2 to 64; got size ${size}, cell ${cell}, bins ${nbins}.`,
    );
  }
  const gray0 = 'channels' in image ? toGray(image) : image;
  const gray = gray0.width === size && gray0.height === size ? gray0 : resizeArea(gray0, size, size);
  const g = gray.data;
  const S = size;
  // Gradients with BORDER_REFLECT_101 (the pixel beyond the edge is the one inside it).
  const reflect = (i: number) => (i < 0 ? -i : i >= S ? 2 * S - 2 - i : i);
  const mag0 = new Float32Array(S * S);
  const mag1 = new Float32Array(S * S);
  const bin0 = new Uint8Array(S * S);
  const bin1 = new Uint8Array(S * S);
  const angleScale = Math.fround(nbins / Math.PI);
  const prev = Int32Array.from({ length: S }, (_, i) => reflect(i - 1));
  const next = Int32Array.from({ length: S }, (_, i) => reflect(i + 1));
  for (let y = 0; y < S; y++) {
    const up = prev[y] * S;
    const down = next[y] * S;
    for (let x = 0; x < S; x++) {
      const dx = g[y * S + next[x]] - g[y * S + prev[x]];
      const dy = g[down + x] - g[up + x];
      const mag = Math.fround(Math.sqrt(dx * dx + dy * dy));
      let theta = Math.atan2(dy, dx);
      if (theta < 0) theta += 2 * Math.PI;
      let angle = Math.fround(Math.fround(theta) * angleScale - 0.5);
      let h = Math.floor(angle);
      angle -= h;
      if (h < 0) h += nbins;
      else if (h >= nbins) h -= nbins;
      const p = y * S + x;
      mag0[p] = mag * (1 - angle);
      mag1[p] = mag * angle;
      bin0[p] = h;
      bin1[p] = h + 1 < nbins ? h + 1 : 0;
    }
  }
  // Per-pixel weights inside a block (2 x 2 cells): Gaussian window times bilinear cell weights.
  const B = 2 * cell;
  const sigma = B / 4; // OpenCV's default winSigma, (blockWidth + blockHeight) / 8
  const scale = 1 / (2 * sigma * sigma);
  const cellW = new Float32Array(B * B * 4);
  for (let i = 0; i < B; i++) {
    for (let j = 0; j < B; j++) {
      const di = i - B * 0.5;
      const dj = j - B * 0.5;
      const gw = Math.exp(-(di * di + dj * dj) * scale);
      let cx = (j + 0.5) / cell - 0.5;
      let cy = (i + 0.5) / cell - 0.5;
      const x0 = Math.floor(cx);
      const y0 = Math.floor(cy);
      cx -= x0;
      cy -= y0;
      // Cell index in the block, column-major as OpenCV: (cellX * 2 + cellY).
      const put = (X: number, Y: number, w: number) => {
        if (X >= 0 && X < 2 && Y >= 0 && Y < 2) cellW[(i * B + j) * 4 + X * 2 + Y] = gw * w;
      };
      put(x0, y0, (1 - cx) * (1 - cy));
      put(x0 + 1, y0, cx * (1 - cy));
      put(x0, y0 + 1, (1 - cx) * cy);
      put(x0 + 1, y0 + 1, cx * cy);
    }
  }
  const nb = S / cell - 1;
  const blockLen = 4 * nbins;
  const out = new Float32Array(nb * nb * blockLen);
  const hist = new Float64Array(blockLen);
  for (let bx = 0; bx < nb; bx++) {
    for (let by = 0; by < nb; by++) {
      hist.fill(0);
      for (let i = 0; i < B; i++) {
        for (let j = 0; j < B; j++) {
          const p = (by * cell + i) * S + bx * cell + j;
          const w = (i * B + j) * 4;
          for (let c = 0; c < 4; c++) {
            const cw = cellW[w + c];
            if (cw === 0) continue;
            hist[c * nbins + bin0[p]] += mag0[p] * cw;
            hist[c * nbins + bin1[p]] += mag1[p] * cw;
          }
        }
      }
      // L2-Hys: normalise (with OpenCV's 0.1 * length guard), clip at 0.2, normalise again.
      let sum = 0;
      for (let k = 0; k < blockLen; k++) sum += hist[k] * hist[k];
      let s = 1 / (Math.sqrt(sum) + blockLen * 0.1);
      sum = 0;
      for (let k = 0; k < blockLen; k++) {
        hist[k] = Math.min(hist[k] * s, 0.2);
        sum += hist[k] * hist[k];
      }
      s = 1 / (Math.sqrt(sum) + 1e-3);
      const o = (bx * nb + by) * blockLen;
      for (let k = 0; k < blockLen; k++) out[o + k] = hist[k] * s;
    }
  }
  return out;
}
