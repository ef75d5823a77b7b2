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
 * Every pair of items whose 64-bit hashes (16 hex characters) differ in at most
 * `maxDistance` bits (hashes from {@link imageHash}), found with a BK-tree (Burkhard & Keller 1973) rather than by comparing every pair: each query
 * visits only the subtrees whose distance to their root is within `maxDistance` of its own (the triangle inequality of
 * the Hamming distance). Exactly the pairs a comparison of every pair finds (imagededup's `find_duplicates`, self
 * excluded), sorted by `a`, then distance, then `b`. Identical hashes are one node of the tree with their items.
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

  // The tree: node = first item of a distinct hash; its items; children by distance (sparse, as Maps).
  const items: number[][] = [];
  const nodeItem: number[] = [];
  const children: Map<number, number>[] = [];
  const insert = (i: number) => {
    if (nodeItem.length === 0) {
      nodeItem.push(i);
      items.push([i]);
      children.push(new Map());
      return;
    }
    let node = 0;
    for (;;) {
      const d = dist(i, nodeItem[node]);
      if (d === 0) return void items[node].push(i);
      const next = children[node].get(d);
      if (next === undefined) {
        children[node].set(d, nodeItem.length);
        nodeItem.push(i);
        items.push([i]);
        children.push(new Map());
        return;
      }
      node = next;
    }
  };
  for (let i = 0; i < n; i++) insert(i);

  const pairs: DuplicatePair[] = [];
  const stack: number[] = [];
  const every = Math.max(1, Math.floor(nodeItem.length / 100));
  for (let q = 0; q < nodeItem.length; q++) {
    if (q % every === 0) {
      throwIfAborted(options.signal, 'hashDuplicates');
      options.onProgress?.({ stage: 'dedup', done: q, total: nodeItem.length });
    }
    const qi = nodeItem[q];
    // Items sharing the query's hash are duplicates at distance 0.
    const same = items[q];
    for (let x = 0; x < same.length; x++)
      for (let y = x + 1; y < same.length; y++) pairs.push({ a: same[x], b: same[y], distance: 0 });
    stack.length = 0;
    stack.push(0);
    while (stack.length) {
      const node = stack.pop()!;
      const d = dist(qi, nodeItem[node]);
      // Each pair of distinct hashes once: from the node that comes first in insertion order.
      if (d > 0 && d <= t && node > q)
        for (const a of same)
          for (const b of items[node]) pairs.push(a < b ? { a, b, distance: d } : { a: b, b: a, distance: d });
      for (const [cd, child] of children[node]) if (cd >= d - t && cd <= d + t) stack.push(child);
    }
  }
  options.onProgress?.({ stage: 'dedup', done: nodeItem.length, total: nodeItem.length });
  return pairs.sort((p, q) => p.a - q.a || p.distance - q.distance || p.b - q.b);
}
