import { describe, expect, it } from 'vitest';
import { AbortedError, CbirError, localFeatureDuplicates, type LocalFeatures, type MirroredFeatures } from 'cbir-core';
import { Rng } from '../../src/utils/rng.js';

// Keypoints made up, with the geometry of copies known: a scene is random descriptors at random places, and its
// mirror image has other descriptors (ORB's differ on a mirrored patch) at mirrored places. A copy keeps 70% of the
// scene's keypoints moved by a similarity (rotation, scale, shift), each descriptor with up to 8 bits flipped, plus
// 60 keypoints of its own; a mirrored copy is made from the mirror image.
const W = 400;
const H = 300;

function randomFeatures(rng: Rng, n: number): LocalFeatures {
  const points = Float32Array.from({ length: 2 * n }, (_, i) => rng.next() * (i % 2 ? H : W));
  const descriptors = Uint8Array.from({ length: 32 * n }, () => rng.int(256));
  return { points, descriptors };
}

function mirrorOf(rng: Rng, f: LocalFeatures): LocalFeatures {
  const n = f.points.length / 2;
  const points = Float32Array.from(f.points, (v, i) => (i % 2 ? v : W - v));
  return { points, descriptors: randomFeatures(rng, n).descriptors };
}

function copyOf(rng: Rng, f: LocalFeatures, angle: number, scale: number): LocalFeatures {
  const n = f.points.length / 2;
  const kept = [...Array(n).keys()].filter(() => rng.next() < 0.7);
  const extra = randomFeatures(rng, 60);
  const points: number[] = [];
  const descriptors: number[] = [];
  const [c, s, tx, ty] = [Math.cos(angle) * scale, Math.sin(angle) * scale, rng.next() * 50, rng.next() * 50];
  for (const k of kept) {
    const [x, y] = [f.points[2 * k], f.points[2 * k + 1]];
    points.push(c * x - s * y + tx + rng.next() - 0.5, s * x + c * y + ty + rng.next() - 0.5);
    const d = Array.from(f.descriptors.subarray(32 * k, 32 * k + 32));
    for (let b = rng.int(9); b > 0; b--) d[rng.int(32)] ^= 1 << rng.int(8);
    descriptors.push(...d);
  }
  return {
    points: Float32Array.from([...points, ...extra.points]),
    descriptors: Uint8Array.from([...descriptors, ...extra.descriptors]),
  };
}

interface Planted {
  images: MirroredFeatures[];
  /** Scene of each image (-1 for a distractor), and whether it is mirrored. */
  scene: number[];
  mirrored: boolean[];
}

function planted(seed: number, scenes = 6, copies = 4, distractors = 20): Planted {
  const rng = new Rng(seed);
  const out: Planted = { images: [], scene: [], mirrored: [] };
  for (let s = 0; s < scenes; s++) {
    const base = randomFeatures(rng, 200);
    const mirror = mirrorOf(rng, base);
    for (let c = 0; c < copies; c++) {
      const flip = c % 2 === 1;
      const angle = (rng.next() - 0.5) * Math.PI;
      const scale = 0.5 + rng.next();
      // The copy's own plain and mirrored keypoints, both under one transform of what they were made from.
      const [plainFrom, mirrorFrom] = flip ? [mirror, base] : [base, mirror];
      const r = rng.state;
      const plain = copyOf(Rng.fromState(r), plainFrom, angle, scale);
      const mirrored = copyOf(Rng.fromState(r), mirrorFrom, -angle, scale);
      rng.next();
      out.images.push({ plain, mirrored });
      out.scene.push(s);
      out.mirrored.push(flip);
    }
  }
  for (let d = 0; d < distractors; d++) {
    const f = randomFeatures(rng, 200);
    out.images.push({ plain: f, mirrored: mirrorOf(rng, f) });
    out.scene.push(-1);
    out.mirrored.push(false);
  }
  // Shuffled, so that copies are not next to each other.
  const order = rng.shuffle([...out.images.keys()]);
  return {
    images: order.map((i) => out.images[i]),
    scene: order.map((i) => out.scene[i]),
    mirrored: order.map((i) => out.mirrored[i]),
  };
}

describe('localFeatureDuplicates', () => {
  it('finds every pair of copies of one scene, flipped ones as mirrored, and nothing else', () => {
    const p = planted(1);
    const pairs = localFeatureDuplicates(p.images);
    const expected: string[] = [];
    for (let a = 0; a < p.scene.length; a++)
      for (let b = a + 1; b < p.scene.length; b++)
        if (p.scene[a] >= 0 && p.scene[a] === p.scene[b]) expected.push(`${a}-${b}-${p.mirrored[a] !== p.mirrored[b]}`);
    expect(pairs.map((q) => `${q.a}-${q.b}-${q.mirrored}`).sort()).toEqual(expected.sort());
    for (const q of pairs) expect(q.inliers).toBeGreaterThanOrEqual(15);
    // Sorted by a, then b.
    expect(pairs).toEqual([...pairs].sort((x, y) => x.a - y.a || x.b - y.b));
  });

  it('needs the matches to agree on one geometry: the same descriptors at shuffled places are no duplicate', () => {
    const p = planted(2, 1, 2, 0);
    const [x, y] = p.images;
    const rng = new Rng(3);
    const n = y.plain.points.length / 2;
    const order = rng.shuffle([...Array(n).keys()]);
    const shuffled = (f: LocalFeatures): LocalFeatures => ({
      descriptors: f.descriptors,
      points: Float32Array.from({ length: 2 * n }, (_, i) => f.points[2 * order[i >> 1] + (i % 2)]),
    });
    expect(localFeatureDuplicates([x, y])).toHaveLength(1);
    expect(localFeatureDuplicates([x, { plain: shuffled(y.plain), mirrored: shuffled(y.mirrored) }])).toEqual([]);
  });

  it('is deterministic for a seed, and reports progress up to the last image', () => {
    const p = planted(4, 3, 3, 5);
    const seen: number[] = [];
    const first = localFeatureDuplicates(p.images, { onProgress: (e) => 'done' in e && seen.push(e.done) });
    expect(localFeatureDuplicates(p.images)).toEqual(first);
    expect(seen.at(-1)).toBe(p.images.length);
  });

  it('refuses features that are not orbFeatures output, naming the image, and stops at its signal', () => {
    const p = planted(5, 1, 2, 1);
    const bad = { ...p.images[1], plain: { ...p.images[1].plain, descriptors: new Uint8Array(31) } };
    expect(() => localFeatureDuplicates([p.images[0], bad])).toThrow(/image 1 \(plain\) has 31 descriptor bytes/);
    expect(() => localFeatureDuplicates(p.images, { minInliers: 1 })).toThrow(CbirError);
    const controller = new AbortController();
    controller.abort();
    expect(() => localFeatureDuplicates(p.images, { signal: controller.signal })).toThrow(AbortedError);
  });
});
