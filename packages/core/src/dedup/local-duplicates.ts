import { CbirError, throwIfAborted } from '../errors.js';
import type { LocalFeatures } from '../features/orb.js';
import type { LongRunning } from '../progress.js';
import { Rng } from '../utils/rng.js';
import { popcount32 } from '../utils/bits.js';

/** An image's keypoints as taken and as mirrored left to right (`orbFeatures` with and without `mirror`). */
export interface MirroredFeatures {
  plain: LocalFeatures;
  mirrored: LocalFeatures;
}

/** Options of {@link localFeatureDuplicates}. */
export interface LocalDuplicatesOptions extends LongRunning {
  /** Pairs with at least this many keypoints agreeing on one geometric transform are duplicates. @defaultValue 15 */
  minInliers?: number;
  /** Descriptors at most this many of 256 bits apart may match. @defaultValue 64 */
  maxHamming?: number;
  /** Hash tables, each keyed by 24 of a descriptor's 256 bits: more find more matches, slower. @defaultValue 16 */
  tables?: number;
  /** A bucket holding more descriptors than this is skipped (a pattern too common to tell images apart). @defaultValue 64 */
  maxBucket?: number;
  /** A match agrees with a transform when it lands within this many pixels of where it maps. @defaultValue 5 */
  tolerance?: number;
  /** RANSAC samples tried per pair of images. @defaultValue 200 */
  iterations?: number;
  /** Seeds the tables' bytes and the RANSAC samples. @defaultValue 0 */
  seed?: number;
}

/** Two images that show the same scene: `a < b`, with the keypoints agreeing on one transform between them. */
export interface LocalDuplicatePair {
  a: number;
  b: number;
  /** Keypoint matches consistent with the best similarity transform (rotation, scale, shift). */
  inliers: number;
  /** Whether `a` matched `b` mirrored (a flipped copy). */
  mirrored: boolean;
}

/** The descriptors of every image, 8 words each, in one array; `start[i]` is image i's first. */
interface Pool {
  words: Uint32Array;
  bytes: Uint8Array;
  start: Uint32Array;
  owner: Uint32Array;
}

function pool(images: readonly LocalFeatures[]): Pool {
  const start = new Uint32Array(images.length + 1);
  images.forEach((f, i) => (start[i + 1] = start[i] + f.descriptors.length / 32));
  const total = start[images.length];
  const words = new Uint32Array(total * 8);
  const bytes = new Uint8Array(words.buffer);
  const owner = new Uint32Array(total);
  images.forEach((f, i) => {
    bytes.set(f.descriptors, start[i] * 32);
    owner.fill(i, start[i], start[i + 1]);
  });
  return { words, bytes, start, owner };
}

function wordsOf(f: LocalFeatures): Uint32Array {
  const w = new Uint32Array(f.descriptors.length / 4);
  new Uint8Array(w.buffer).set(f.descriptors);
  return w;
}

/** Matches kept per pair of images, the closest: enough to tell, and RANSAC's cost is samples x matches. */
const MAX_MATCHES = 128;

/** Bits per key: a match at 30 of 256 bits shares a key with probability (226/256)^24 = 5% per table. */
const KEY_BITS = 24;

/** One hash table: descriptors grouped by bucket (in pool order within one), and each descriptor's 24-bit key. */
interface Table {
  /** The descriptor bytes the key reads, and per byte a 256-entry table of the key bits its value sets. */
  bytesUsed: Uint8Array;
  lut: Uint32Array;
  offsets: Uint32Array;
  ids: Uint32Array;
  /** The key of each entry of `ids` (checked before the distance: a bucket mixes keys), beside it for locality. */
  keys: Uint32Array;
}

function keyOf(bytes: Uint8Array, at: number, t: Table): number {
  let key = 0;
  for (let d = 0; d < t.bytesUsed.length; d++) key |= t.lut[(d << 8) | bytes[at + t.bytesUsed[d]]];
  return key >>> 0;
}

/**
 * The bits a key samples: ORB's tests are not all balanced (some are set in most descriptors), and keys of unbalanced
 * bits crowd into a few buckets. Each table samples `KEY_BITS` of the 160 bits whose share of ones is nearest 1/2.
 */
function balancedBits(p: Pool): number[] {
  const ones = new Float64Array(256);
  const n = p.owner.length;
  const step = Math.max(1, Math.floor(n / 20000));
  let seen = 0;
  for (let g = 0; g < n; g += step, seen++)
    for (let b = 0; b < 256; b++) ones[b] += (p.bytes[g * 32 + (b >>> 3)] >>> (b & 7)) & 1;
  return Array.from({ length: 256 }, (_, b) => b)
    .sort((x, y) => Math.abs(ones[x] / seen - 0.5) - Math.abs(ones[y] / seen - 0.5) || x - y)
    .slice(0, 160);
}

function buildTable(p: Pool, bits: readonly number[], shift: number): Table {
  const n = p.owner.length;
  const bytesUsed = Uint8Array.from(new Set(bits.map((b) => b >>> 3)));
  const lut = new Uint32Array(bytesUsed.length * 256);
  bits.forEach((b, k) => {
    const d = bytesUsed.indexOf(b >>> 3);
    for (let v = 0; v < 256; v++) if ((v >>> (b & 7)) & 1) lut[(d << 8) | v] |= 1 << k;
  });
  const t: Table = {
    bytesUsed,
    lut,
    offsets: new Uint32Array((1 << (32 - shift)) + 1),
    ids: new Uint32Array(n),
    keys: new Uint32Array(n),
  };
  const keys = new Uint32Array(n);
  for (let g = 0; g < n; g++) {
    keys[g] = keyOf(p.bytes, g * 32, t);
    t.offsets[(Math.imul(keys[g], 0x9e3779b1) >>> shift) + 1]++;
  }
  for (let k = 1; k < t.offsets.length; k++) t.offsets[k] += t.offsets[k - 1];
  const fill = t.offsets.slice(0, -1);
  for (let g = 0; g < n; g++) {
    const at = fill[Math.imul(keys[g], 0x9e3779b1) >>> shift]++;
    t.ids[at] = g;
    t.keys[at] = keys[g];
  }
  return t;
}

/**
 * The largest number of matches consistent with one similarity transform (z' = s z + t in complex numbers: rotation,
 * uniform scale between 1/4 and 4, shift), by RANSAC over pairs of matches. Written here rather than taken from
 * OpenCV.js, whose build leaves out estimateAffinePartial2D: its full affine (estimateAffine2D) has two more degrees
 * of freedom, and so more chance agreements between unrelated photos.
 */
function similarityInliers(
  src: Float32Array,
  dst: Float32Array,
  from: Int32Array,
  to: Int32Array,
  m: number,
  tolerance: number,
  iterations: number,
  rng: Rng,
): number {
  const tol2 = tolerance * tolerance;
  let best = 0;
  // Adaptive stop (Fischler & Bolles): once a model holds a share w of the matches, log(0.01) / log(1 - w^2) samples
  // find a model at least as good with probability 0.99.
  let needed = iterations;
  for (let it = 0; it < needed && best < m; it++) {
    const i = rng.int(m);
    let j = rng.int(m - 1);
    if (j >= i) j++;
    const ax = src[2 * from[i]];
    const ay = src[2 * from[i] + 1];
    const dx = src[2 * from[j]] - ax;
    const dy = src[2 * from[j] + 1] - ay;
    const ux = dst[2 * to[i]];
    const uy = dst[2 * to[i] + 1];
    const ex = dst[2 * to[j]] - ux;
    const ey = dst[2 * to[j] + 1] - uy;
    const d2 = dx * dx + dy * dy;
    if (d2 < 4) continue; // two keypoints at one place fix no rotation or scale
    // s = e / d (complex division); scale |s|.
    const sr = (ex * dx + ey * dy) / d2;
    const si = (ey * dx - ex * dy) / d2;
    const scale2 = sr * sr + si * si;
    if (scale2 < 1 / 16 || scale2 > 16) continue;
    let count = 0;
    for (let k = 0; k < m; k++) {
      const px = src[2 * from[k]] - ax;
      const py = src[2 * from[k] + 1] - ay;
      const qx = ux + sr * px - si * py - dst[2 * to[k]];
      const qy = uy + si * px + sr * py - dst[2 * to[k] + 1];
      if (qx * qx + qy * qy <= tol2) count++;
    }
    if (count > best) {
      best = count;
      const w = best / m;
      needed = Math.min(iterations, Math.ceil(Math.log(0.01) / Math.log(1 - w * w)));
    }
  }
  return best;
}

/**
 * Every pair of images that show the same scene: the same photo resized, recompressed, brightened, cropped, rotated
 * by any angle, or flipped, judged by its keypoints. Descriptors are matched across the whole collection through hash
 * tables (each keyed by 24 random bits of a descriptor; a match is a pair of descriptors within `maxHamming` bits),
 * not by comparing every pair of images; each pair of images with enough matches is then verified geometrically: the
 * matches (each keypoint used once, its closest) must agree on one similarity transform (rotation, scale between 1/4
 * and 4, shift) within `tolerance` pixels, `minInliers` of them at least. Mirrored copies match through `mirrored`.
 * Deterministic for a seed. Memory: the tables hold about 160 bytes per keypoint (16 tables), some 120 MB per 1,000
 * images of 500 keypoints with the features themselves; `cbir dedup` peaked at 902 MB on 3,100 images.
 *
 * @throws {@link CbirError} INVALID_ARGUMENT for descriptors that are not 32 bytes each or points that do not match
 *   them (naming the image); `AbortedError` at `signal`.
 * @example
 * ```ts
 * const cv = await loadOpenCv();
 * const features = images.map((im) => ({ plain: orbFeatures(cv, im), mirrored: orbFeatures(cv, im, { mirror: true }) }));
 * for (const { a, b, inliers } of localFeatureDuplicates(features)) console.log(paths[a], paths[b], inliers);
 * ```
 */
export function localFeatureDuplicates(
  images: readonly MirroredFeatures[],
  options: LocalDuplicatesOptions = {},
): LocalDuplicatePair[] {
  const minInliers = options.minInliers ?? 15;
  const maxHamming = options.maxHamming ?? 64;
  const nTables = options.tables ?? 16;
  const maxBucket = options.maxBucket ?? 64;
  const tolerance = options.tolerance ?? 5;
  const iterations = options.iterations ?? 200;
  for (const [name, v, lo, hi] of [
    ['minInliers', minInliers, 2, Infinity],
    ['maxHamming', maxHamming, 0, 256],
    ['tables', nTables, 1, 64],
    ['maxBucket', maxBucket, 1, Infinity],
    ['iterations', iterations, 1, Infinity],
  ] as const)
    if (!Number.isInteger(v) || v < lo || v > hi)
      throw new CbirError(
        'INVALID_ARGUMENT',
        `localFeatureDuplicates: ${name} must be an integer from ${lo} to ${hi}, got ${v}.`,
      );
  if (!(tolerance > 0))
    throw new CbirError('INVALID_ARGUMENT', `localFeatureDuplicates: tolerance must be > 0 pixels, got ${tolerance}.`);
  images.forEach(({ plain, mirrored }, i) => {
    for (const [side, f] of [
      ['plain', plain],
      ['mirrored', mirrored],
    ] as const)
      if (f.descriptors.length % 32 !== 0 || f.points.length !== f.descriptors.length / 16)
        throw new CbirError(
          'INVALID_ARGUMENT',
          `localFeatureDuplicates: image ${i} (${side}) has ${f.descriptors.length} descriptor bytes and ${f.points.length} coordinates; expected 32 bytes and 2 coordinates per keypoint (orbFeatures' output).`,
        );
  });

  const { signal, onProgress } = options;
  const rng = new Rng(options.seed ?? 0);
  const p = pool(images.map((f) => f.plain));
  const n = images.length;
  const total = p.owner.length;
  const shift = 32 - Math.min(22, Math.max(8, Math.ceil(Math.log2(Math.max(2, total)))));
  const candidates = balancedBits(p);
  const tables: Table[] = [];
  for (let t = 0; t < nTables; t++) {
    throwIfAborted(signal, 'localFeatureDuplicates');
    tables.push(buildTable(p, rng.shuffle(candidates.slice()).slice(0, KEY_BITS), shift));
  }

  const pairs: LocalDuplicatePair[] = [];
  // Per query descriptor: the pooled descriptors already looked at (several tables find the same one).
  const seen = new Int32Array(total).fill(-1);
  let stamp = 0;
  // Matches of one query image, grouped by the other image: [query keypoint, its keypoint, distance] triples.
  const byImage = new Map<number, number[]>();
  const most = Math.min(
    MAX_MATCHES,
    images.reduce((k, f) => Math.max(k, f.plain.points.length / 2, f.mirrored.points.length / 2), 0),
  );
  const from = new Int32Array(most);
  const to = new Int32Array(most);
  for (let i = 0; i < n; i++) {
    if (i % 64 === 0) throwIfAborted(signal, 'localFeatureDuplicates');
    const best = new Map<number, { inliers: number; mirrored: boolean }>();
    const after = p.start[i + 1];
    for (const mirrored of [false, true]) {
      const q = mirrored ? images[i].mirrored : images[i].plain;
      const qWords = wordsOf(q);
      const qBytes = q.descriptors;
      byImage.clear();
      for (let k = 0; k < qBytes.length / 32; k++) {
        stamp++;
        for (const t of tables) {
          const key = keyOf(qBytes, k * 32, t);
          const bucket = Math.imul(key, 0x9e3779b1) >>> shift;
          const lo = t.offsets[bucket];
          const hi = t.offsets[bucket + 1];
          if (hi - lo > maxBucket) continue;
          // A bucket lists its descriptors in pool order: those of images after i come last.
          for (let e = hi - 1; e >= lo && t.ids[e] >= after; e--) {
            if (t.keys[e] !== key) continue;
            const g = t.ids[e];
            const j = p.owner[g];
            if (seen[g] === stamp) continue;
            seen[g] = stamp;
            let d = 0;
            for (let w = 0; w < 8; w++) d += popcount32(qWords[k * 8 + w] ^ p.words[g * 8 + w]);
            if (d > maxHamming) continue;
            let list = byImage.get(j);
            if (!list) byImage.set(j, (list = []));
            list.push(k, g - p.start[j], d);
          }
        }
      }
      for (const [j, list] of byImage) {
        if (list.length / 3 < minInliers) continue;
        // Each keypoint used once on each side: its closest match (ties to the first found).
        const order = Array.from({ length: list.length / 3 }, (_, m) => m).sort(
          (x, y) => list[3 * x + 2] - list[3 * y + 2],
        );
        const usedQ = new Set<number>();
        const usedT = new Set<number>();
        let m = 0;
        for (const o of order) {
          if (m === MAX_MATCHES) break;
          const qk = list[3 * o];
          const tk = list[3 * o + 1];
          if (usedQ.has(qk) || usedT.has(tk)) continue;
          usedQ.add(qk);
          usedT.add(tk);
          from[m] = qk;
          to[m++] = tk;
        }
        if (m < minInliers) continue;
        const inliers = similarityInliers(q.points, images[j].plain.points, from, to, m, tolerance, iterations, rng);
        if (inliers >= minInliers && inliers > (best.get(j)?.inliers ?? -1)) best.set(j, { inliers, mirrored });
      }
    }
    for (const [j, { inliers, mirrored }] of [...best].sort((x, y) => x[0] - y[0]))
      pairs.push({ a: i, b: j, inliers, mirrored });
    onProgress?.({ stage: 'dedup', done: i + 1, total: n });
  }
  return pairs;
}
