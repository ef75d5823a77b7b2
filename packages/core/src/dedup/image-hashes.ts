import { CbirError } from '../errors.js';
import type { RawImage } from '../image/raw-image.js';
import { pilLanczosGrey } from './pil-resize.js';

/** The perceptual hashes of imagededup (`imagededup.methods.hashing`), with the same bits. */
export type HashMethod = 'ahash' | 'dhash' | 'phash' | 'whash';

/** The hash methods, in the order the CLI lists them. */
export const HASH_METHODS: readonly HashMethod[] = ['phash', 'dhash', 'ahash', 'whash'];

/**
 * A 64-bit perceptual hash of an image, as imagededup computes it, as 16 lower-case hex characters (imagededup's
 * `encode_image`): the image's RGB (grey replicated, alpha dropped) resized with Pillow's Lanczos filter, converted
 * to Pillow's 8-bit grey, then
 * - `ahash`: 8x8, bit = pixel >= the mean;
 * - `dhash`: 9 wide x 8 high, bit = pixel > its left neighbour;
 * - `phash`: 32x32, the unnormalised 2-D DCT-II (scipy.fftpack's), its top-left 8x8, bit = coefficient >= the median
 *   of the 63 AC terms;
 * - `whash`: 256x256 scaled to [0, 1], the Haar wavelet's level-5 approximation (8x8), bit >= its median.
 * Bits row-major, the first the most significant. The same file gives the same string as imagededup: checked against
 * imagededup's own code on fixtures of every Pillow mode and on all 1,000 wang1k photos (`pnpm bench:dedup-hashes`,
 * 100% for each method). Where compared values tie to within rounding (terms that are exactly 0 in scipy are exactly 0
 * here too, but other near-ties are possible in principle), a bit may differ.
 *
 * @example
 * ```ts
 * const image = await sharpDecoder().decode('photo.jpg');   // cbir-node
 * imageHash(image, 'phash');   // e.g. 'd1c5b53a2e3c9c61'
 * ```
 */
export function imageHash(image: RawImage, method: HashMethod): string {
  if (!image || !(image.width >= 1) || !(image.height >= 1) || !image.data)
    throw new CbirError('INVALID_ARGUMENT', 'imageHash: the image has no pixels.');
  const bits =
    method === 'ahash'
      ? aBits(pilLanczosGrey(image, 8, 8))
      : method === 'dhash'
        ? dBits(pilLanczosGrey(image, 9, 8))
        : method === 'phash'
          ? pBits(pilLanczosGrey(image, 32, 32))
          : method === 'whash'
            ? wBits(pilLanczosGrey(image, 256, 256))
            : undefined;
  if (!bits)
    throw new CbirError(
      'INVALID_ARGUMENT',
      `imageHash: method must be one of ${HASH_METHODS.join(', ')}, got ${JSON.stringify(method)}.`,
    );
  return toHex(bits);
}

/** 64 bits (0/1) as 16 hex characters, the first bit the most significant (numpy's `packbits`). */
function toHex(bits: Uint8Array): string {
  let s = '';
  for (let i = 0; i < 64; i += 4)
    s += ((bits[i] << 3) | (bits[i + 1] << 2) | (bits[i + 2] << 1) | bits[i + 3]).toString(16);
  return s;
}

function aBits(g: Uint8Array): Uint8Array {
  let sum = 0;
  for (const v of g) sum += v;
  const mean = sum / 64; // numpy's mean of 64 small integers: exact
  return g.map((v) => (v >= mean ? 1 : 0));
}

function dBits(g: Uint8Array): Uint8Array {
  const bits = new Uint8Array(64);
  for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) bits[y * 8 + x] = g[y * 9 + x + 1] > g[y * 9 + x] ? 1 : 0;
  return bits;
}

/**
 * scipy.fftpack's `dct` type II, unnormalised, of `x` (length a power of two): `y[k] = 2 sum_i x[i] cos(pi k (2i + 1)
 * / (2n))`, by the even/odd split FFT-based DCTs use: the even terms are the half-length DCT of `x[i] + x[n-1-i]`, the
 * odd ones sums over `x[i] - x[n-1-i]`. So where scipy's terms are exactly 0 (a constant or symmetric signal), these
 * are too, and the hash's median does not fall among rounding noise (a direct sum of cosines leaves 1e-13 there).
 */
function dct2(x: Float64Array): Float64Array {
  const n = x.length;
  if (n === 1) return Float64Array.of(2 * x[0]);
  const h = n / 2;
  const u = new Float64Array(h);
  const v = new Float64Array(h);
  for (let i = 0; i < h; i++) {
    u[i] = x[i] + x[n - 1 - i];
    v[i] = x[i] - x[n - 1 - i];
  }
  const even = dct2(u);
  const y = new Float64Array(n);
  for (let m = 0; m < h; m++) y[2 * m] = even[m];
  const cos = cosines(n);
  for (let k = 1; k < n; k += 2) {
    let s = 0;
    for (let i = 0; i < h; i++) s += v[i] * cos[(k >> 1) * h + i];
    y[k] = 2 * s;
  }
  return y;
}

const COSINES = new Map<number, Float64Array>();

/** `cos(pi k (2i + 1) / (2n))` for odd k (row k >> 1) and i < n / 2: the same values dct2 computed inline. */
function cosines(n: number): Float64Array {
  let c = COSINES.get(n);
  if (!c) {
    const h = n / 2;
    c = new Float64Array(h * h);
    for (let k = 1; k < n; k += 2)
      for (let i = 0; i < h; i++) c[(k >> 1) * h + i] = Math.cos((Math.PI * k * (2 * i + 1)) / (2 * n));
    COSINES.set(n, c);
  }
  return c;
}

function pBits(g: Uint8Array): Uint8Array {
  const n = 32;
  // dct(dct(a, axis=0), axis=1)[:8, :8]: along each column, then along each row.
  const cols = new Float64Array(n * n); // [k][x]
  for (let x = 0; x < n; x++) {
    const y = dct2(Float64Array.from({ length: n }, (_, r) => g[r * n + x]));
    for (let k = 0; k < n; k++) cols[k * n + x] = y[k];
  }
  const c = new Float64Array(64);
  for (let ky = 0; ky < 8; ky++) c.set(dct2(cols.subarray(ky * n, (ky + 1) * n)).subarray(0, 8), ky * 8);
  const median = [...c.subarray(1)].sort((a, b) => a - b)[31];
  return Uint8Array.from(c, (v) => (v >= median ? 1 : 0));
}

function wBits(g: Uint8Array): Uint8Array {
  // pywt.wavedec2(image / 255, 'haar', level=5)[0]: each level halves both sides, first along axis 0, then axis 1,
  // each pair (a, b) -> a h + b h with h = 1/sqrt(2) in float64, as pywt's convolution computes it.
  const h = 0.7071067811865476;
  let side = 256;
  let a = Float64Array.from(g, (v) => v / 255);
  for (let level = 0; level < 5; level++) {
    const half = side / 2;
    const rows = new Float64Array(half * side);
    for (let y = 0; y < half; y++)
      for (let x = 0; x < side; x++) rows[y * side + x] = a[(2 * y + 1) * side + x] * h + a[2 * y * side + x] * h;
    const next = new Float64Array(half * half);
    for (let y = 0; y < half; y++)
      for (let x = 0; x < half; x++) next[y * half + x] = rows[y * side + 2 * x + 1] * h + rows[y * side + 2 * x] * h;
    a = next;
    side = half;
  }
  const sorted = [...a].sort((p, q) => p - q);
  const median = (sorted[31] + sorted[32]) / 2;
  return Uint8Array.from(a, (v) => (v >= median ? 1 : 0));
}

/**
 * The number of differing bits of two 16-hex-character hashes (imagededup's `hamming_distance`).
 *
 * @example
 * ```ts
 * hammingDistance('ffff000000000000', 'fff0000000000001');   // 5
 * ```
 */
export function hammingDistance(a: string, b: string): number {
  if (!/^[0-9a-f]{16}$/i.test(a) || !/^[0-9a-f]{16}$/i.test(b))
    throw new CbirError(
      'INVALID_ARGUMENT',
      `hammingDistance: hashes are 16 hex characters, got ${JSON.stringify(a)} and ${JSON.stringify(b)}.`,
    );
  let d = 0;
  for (let i = 0; i < 16; i += 8) {
    let x = (parseInt(a.slice(i, i + 8), 16) ^ parseInt(b.slice(i, i + 8), 16)) >>> 0;
    while (x) {
      x &= x - 1;
      d++;
    }
  }
  return d;
}
