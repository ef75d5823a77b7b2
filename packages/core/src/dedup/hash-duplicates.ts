import { CbirError, throwIfAborted } from '../errors.js';
import type { LongRunning } from '../progress.js';
import { popcount32 } from '../utils/bits.js';

/** Two items whose hashes are within the threshold: `a < b`, and their Hamming distance. */
export interface DuplicatePair {
  a: number;
  b: number;
  distance: number;
}

/** Options of {@link hashDuplicates}. */
export interface HashDuplicatesOptions extends LongRunning {
  /** Pairs at this Hamming distance or less are duplicates (imagededup's `max_distance_threshold`). @defaultValue 10 */
  maxDistance?: number;
}

/**
 * Every pair of items whose 64-bit hashes (16 hex characters) differ in at most `maxDistance` bits (hashes from
 * {@link imageHash}), found by multi-index hashing (Norouzi, Punjani & Fleet 2012) rather than by comparing every
 * pair: the bits are cut into chunks, each hash looked up in a table per chunk under the few chunk values near its own,
 * and only those candidates compared. Exactly the pairs a comparison of every pair finds (imagededup's
 * `find_duplicates`, self excluded), sorted by `a`, then distance, then `b`. Identical hashes are compared once, with
 * their items. A threshold so wide that most pairs are candidates compares every pair of distinct hashes.
 *
 * @throws {@link CbirError} INVALID_ARGUMENT for a hash that is not 16 hex characters (naming its position) or a
 *   threshold outside 0..64; `AbortedError` at `signal`.
 *
 * @example
 * ```ts
 * const hashes = images.map((im) => imageHash(im, 'phash'));
 * for (const { a, b, distance } of hashDuplicates(hashes, { maxDistance: 10 })) console.log(paths[a], paths[b], distance);
 * ```
 */
export function hashDuplicates(hashes: readonly string[], options: HashDuplicatesOptions = {}): DuplicatePair[] {
  const t = options.maxDistance ?? 10;
  if (!Number.isInteger(t) || t < 0 || t > 64)
    throw new CbirError('INVALID_ARGUMENT', `hashDuplicates: maxDistance must be an integer from 0 to 64, got ${t}.`);
  const n = hashes.length;
  const hi = new Uint32Array(n);
  const lo = new Uint32Array(n);
  hashes.forEach((h, i) => {
    if (typeof h !== 'string' || !/^[0-9a-fA-F]{16}$/.test(h))
      throw new CbirError(
        'INVALID_ARGUMENT',
        `hashDuplicates: hash ${i} is ${JSON.stringify(h)}; expected 16 hex characters (imageHash's form).`,
      );
    hi[i] = parseInt(h.slice(0, 8), 16);
    lo[i] = parseInt(h.slice(8), 16);
  });
  const dist = (i: number, j: number) => popcount32(hi[i] ^ hi[j]) + popcount32(lo[i] ^ lo[j]);

  // The distinct hashes, each with its items (identical hashes are duplicates at distance 0).
  const first = new Map<string, number>();
  const items: number[][] = [];
  const rep: number[] = [];
  for (let i = 0; i < n; i++) {
    const h = hashes[i].toLowerCase();
    const at = first.get(h);
    if (at === undefined) {
      first.set(h, items.length);
      items.push([i]);
      rep.push(i);
    } else items[at].push(i);
  }
  const u = rep.length;
  const pairs: DuplicatePair[] = [];
  const emit = (x: number, y: number, d: number) => {
    for (const a of items[x])
      for (const b of items[y]) pairs.push(a < b ? { a, b, distance: d } : { a: b, b: a, distance: d });
  };
  for (const same of items)
    for (let x = 0; x < same.length; x++)
      for (let y = x + 1; y < same.length; y++) pairs.push({ a: same[x], b: same[y], distance: 0 });

  const plan = multiIndexPlan(t, u);
  const every = Math.max(1, Math.floor(u / 100));
  const progress = (q: number) => {
    if (q % every !== 0) return;
    throwIfAborted(options.signal, 'hashDuplicates');
    options.onProgress?.({ stage: 'dedup', done: q, total: u });
  };
  if (!plan) {
    // A threshold so wide that nearly every pair is a candidate: compare every pair of distinct hashes.
    for (let x = 0; x < u; x++) {
      progress(x);
      for (let y = x + 1; y < u; y++) {
        const d = dist(rep[x], rep[y]);
        if (d <= t) emit(x, y, d);
      }
    }
  } else {
    // Multi-index hashing (Norouzi, Punjani & Fleet 2012): the 64 bits cut into m chunks; two hashes at most t apart
    // agree within floor(t / m) bits on at least one chunk (the pigeonhole principle), so each hash meets as candidates
    // only the hashes whose chunk is one of the few values that near its own, in a table per chunk.
    const { chunks, masks } = plan;
    const tables = chunks.map(({ start, bits }) => {
      const keys = new Int32Array(u);
      const offsets = new Int32Array((1 << bits) + 1);
      for (let x = 0; x < u; x++) offsets[(keys[x] = chunkOf(hi[rep[x]], lo[rep[x]], start, bits)) + 1]++;
      for (let v = 0; v < 1 << bits; v++) offsets[v + 1] += offsets[v];
      const fill = offsets.slice(0, 1 << bits);
      const order = new Int32Array(u);
      for (let x = 0; x < u; x++) order[fill[keys[x]]++] = x;
      return { keys, offsets, order };
    });
    const seen = new Int32Array(u).fill(-1);
    for (let x = 0; x < u; x++) {
      progress(x);
      for (let c = 0; c < chunks.length; c++) {
        const { keys, offsets, order } = tables[c];
        for (const mask of masks[c]) {
          const v = keys[x] ^ mask;
          for (let o = offsets[v]; o < offsets[v + 1]; o++) {
            const y = order[o];
            // Each pair of distinct hashes once (x < y), each candidate once per query.
            if (y <= x || seen[y] === x) continue;
            seen[y] = x;
            const d = dist(rep[x], rep[y]);
            if (d <= t) emit(x, y, d);
          }
        }
      }
    }
  }
  options.onProgress?.({ stage: 'dedup', done: u, total: u });
  return pairs.sort((p, q) => p.a - q.a || p.distance - q.distance || p.b - q.b);
}

/** Bits `start .. start + bits - 1` of the 64-bit value `hi:lo` (bit 0 the highest), as an integer. */
function chunkOf(hi: number, lo: number, start: number, bits: number): number {
  const end = start + bits;
  if (end <= 32) return (hi >>> (32 - end)) & ((1 << bits) - 1);
  if (start >= 32) return (lo >>> (64 - end)) & ((1 << bits) - 1);
  const fromHi = hi & ((1 << (32 - start)) - 1);
  return ((fromHi << (end - 32)) | (lo >>> (64 - end))) >>> 0;
}

/** Masks of `bits` bits with at most `weight` ones. */
function masksUpTo(bits: number, weight: number): number[] {
  const out = [0];
  const grow = (mask: number, from: number, left: number) => {
    for (let b = from; b < bits && left > 0; b++) {
      out.push(mask | (1 << b));
      grow(mask | (1 << b), b + 1, left - 1);
    }
  };
  grow(0, 0, weight);
  return out;
}

const binomial = (n: number, k: number) => {
  let c = 1;
  for (let i = 0; i < k; i++) c = (c * (n - i)) / (i + 1);
  return c;
};

/**
 * The chunks for multi-index hashing at threshold `t` over `u` distinct hashes: the count m (4 to 16 chunks of 4 to 16
 * bits) that minimises the expected work per query (keys looked up, plus candidates if the hashes were uniform), or
 * undefined when comparing every pair costs less.
 */
function multiIndexPlan(
  t: number,
  u: number,
): { chunks: { start: number; bits: number }[]; masks: number[][] } | undefined {
  let best: { m: number; cost: number } | undefined;
  for (let m = 4; m <= 16; m++) {
    const s = Math.floor(t / m);
    let cost = 0;
    for (let c = 0; c < m; c++) {
      const bits = Math.floor(64 / m) + (c < 64 % m ? 1 : 0);
      let keys = 0;
      for (let j = 0; j <= Math.min(s, bits); j++) keys += binomial(bits, j);
      cost += keys * (1 + u / 2 ** bits);
    }
    if (!best || cost < best.cost) best = { m, cost };
  }
  if (!best || best.cost >= u / 2) return undefined;
  const { m } = best;
  const s = Math.floor(t / m);
  const chunks: { start: number; bits: number }[] = [];
  for (let c = 0, start = 0; c < m; c++) {
    const bits = Math.floor(64 / m) + (c < 64 % m ? 1 : 0);
    chunks.push({ start, bits });
    start += bits;
  }
  return { chunks, masks: chunks.map(({ bits }) => masksUpTo(bits, s)) };
}
