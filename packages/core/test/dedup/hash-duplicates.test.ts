import { describe, expect, it } from 'vitest';
import { AbortedError, hammingDistance, hashDuplicates, type DuplicatePair } from 'cbir-core';
import { Rng } from '../../src/utils/rng.js';
import { popcount32 } from '../../src/utils/bits.js';

/** Seeded hashes: `groups` random ones, each with copies that differ in 0..`spread` random bits. */
function plantedHashes(groups: number, copies: number, spread: number, seed: number): string[] {
  const rng = new Rng(seed);
  const bits = () => Array.from({ length: 64 }, () => (rng.next() < 0.5 ? 1 : 0));
  const hex = (b: number[]) =>
    Array.from({ length: 16 }, (_, i) =>
      ((b[4 * i] << 3) | (b[4 * i + 1] << 2) | (b[4 * i + 2] << 1) | b[4 * i + 3]).toString(16),
    ).join('');
  const out: string[] = [];
  for (let g = 0; g < groups; g++) {
    const base = bits();
    out.push(hex(base));
    for (let c = 0; c < copies; c++) {
      const b = base.slice();
      const flips = Math.floor(rng.next() * (spread + 1));
      for (let f = 0; f < flips; f++) b[Math.floor(rng.next() * 64)] ^= 1;
      out.push(hex(b));
    }
  }
  // Shuffled, so that copies are not next to their original.
  return rng.shuffle(out);
}

/** Every pair within `t`, by comparing every pair: the oracle. */
function bruteForce(hashes: readonly string[], t: number): DuplicatePair[] {
  const out: DuplicatePair[] = [];
  for (let a = 0; a < hashes.length; a++)
    for (let b = a + 1; b < hashes.length; b++) {
      const distance = hammingDistance(hashes[a], hashes[b]);
      if (distance <= t) out.push({ a, b, distance });
    }
  return out.sort((p, q) => p.a - q.a || p.distance - q.distance || p.b - q.b);
}

describe('hashDuplicates (multi-index hashing)', () => {
  const hashes = plantedHashes(150, 3, 14, 1);
  for (const t of [0, 1, 6, 10, 20, 64])
    it(`finds exactly the pairs a comparison of every pair finds, at threshold ${t}`, () => {
      const want = bruteForce(hashes, t);
      expect(hashDuplicates(hashes, { maxDistance: t })).toEqual(want);
      if (t === 10) expect(want.length).toBeGreaterThan(150); // the planted copies are there to be found
    });

  it('at 10,000 hashes and thresholds 2 to 16: exactly the pairs a comparison of every pair finds', () => {
    const many = plantedHashes(2500, 3, 12, 2);
    const hi = Uint32Array.from(many, (h) => parseInt(h.slice(0, 8), 16));
    const lo = Uint32Array.from(many, (h) => parseInt(h.slice(8), 16));
    // The oracle: every pair once, its distance by popcount32 (checked against hammingDistance below).
    const near: DuplicatePair[] = [];
    for (let a = 0; a < many.length; a++)
      for (let b = a + 1; b < many.length; b++) {
        const distance = popcount32(hi[a] ^ hi[b]) + popcount32(lo[a] ^ lo[b]);
        if (distance <= 16) near.push({ a, b, distance });
      }
    near.sort((p, q) => p.a - q.a || p.distance - q.distance || p.b - q.b);
    for (const p of near.slice(0, 100)) expect(hammingDistance(many[p.a], many[p.b])).toBe(p.distance);
    for (const t of [2, 5, 10, 16]) {
      const want = near.filter((p) => p.distance <= t);
      expect(want.length).toBeGreaterThan(1000);
      expect(hashDuplicates(many, { maxDistance: t })).toEqual(want);
    }
  });

  it('pairs identical hashes at distance 0, and them with their neighbours', () => {
    const h = ['00000000000000ff', '00000000000000ff', '00000000000000fe', 'ffffffffffffffff', '00000000000000FF'];
    expect(hashDuplicates(h, { maxDistance: 1 })).toEqual([
      { a: 0, b: 1, distance: 0 },
      { a: 0, b: 4, distance: 0 },
      { a: 0, b: 2, distance: 1 },
      { a: 1, b: 4, distance: 0 },
      { a: 1, b: 2, distance: 1 },
      { a: 2, b: 4, distance: 1 },
    ]);
    expect(hashDuplicates([])).toEqual([]);
  });

  it('reports progress, stops at its signal, and refuses bad input naming it', () => {
    const events: number[] = [];
    hashDuplicates(hashes, { onProgress: (e) => 'done' in e && events.push(e.done) });
    expect(events.at(-1)).toBe(new Set(hashes.map((h) => h.toLowerCase())).size);
    const stop = new AbortController();
    stop.abort();
    expect(() => hashDuplicates(hashes, { signal: stop.signal })).toThrow(AbortedError);
    expect(() => hashDuplicates(['00000000000000ff', 'xyz'])).toThrow(/hash 1 is "xyz"; expected 16 hex characters/);
    expect(() => hashDuplicates(hashes, { maxDistance: 65 })).toThrow(/maxDistance must be an integer from 0 to 64/);
  });
});
