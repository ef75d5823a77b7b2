// The transformed set of bench:dedup: near-duplicates made from real photos, with the ground truth.
//   makeTransformedSet(photos, out) writes, for each of `originals` photos chosen with a fixed seed, the photo itself
//   and seven copies: cropped to 80% of each side (at a seeded offset), flipped horizontally, flipped vertically,
//   rotated 25 degrees (the canvas grows, black corners), resized to half, recompressed as JPEG quality 30, brightened
//   20%; and every other photo once, as a distractor. The copies are JPEG quality 90 except the recompressed one.
//   Ground truth: every two files of a group (a photo and its copies) are duplicates, 28 pairs per group; and the
//   photos of wang1k that are one photo already (SAME_PHOTO), with all their copies; nothing else.
// bench/dedup.ts makes it in a temporary folder (CBIR_DEDUP_SET=DIR keeps it there).
import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import { extname, join, relative } from 'node:path';
import { Rng } from 'cbir-core';
import { createRequire } from 'node:module';
import type Sharp from 'sharp';

// Through require: vite-node resolves bare imports from the repository's root, where sharp is not a dependency.
const sharp = createRequire(import.meta.url)('sharp') as typeof Sharp;

export const TRANSFORMS = ['crop', 'hflip', 'vflip', 'rot25', 'half', 'jpeg30', 'bright'] as const;
export type Transform = (typeof TRANSFORMS)[number];

/**
 * Pairs of wang1k photos that are the same photo (one re-edited or mirrored), so duplicates in truth. Found by
 * reviewing by eye every pair of different photos that cbir's keypoint mode (>= 12 matches agreeing) or imagededup's
 * PHash (<= 12 bits) put together: the rest were different shots of one scene (a herd a moment later), different
 * drawings on one background (the dinosaurs) or unrelated, and stay non-duplicates, as the definition says.
 */
export const SAME_PHOTO: readonly [string, string][] = [
  ['food/918.jpg', 'food/924.jpg'],
  ['food/935.jpg', 'food/981.jpg'], // mirrored
];

export interface TransformedSet {
  /** The folder written. */
  dir: string;
  /** Every file (relative to dir), sorted. */
  files: string[];
  /** imagededup's ground-truth shape: each file's duplicates (an empty list for distractors). */
  truth: Record<string, string[]>;
  /** The transform that made each copy ('original' or 'distractor' otherwise). */
  kind: Record<string, Transform | 'original' | 'distractor'>;
  /** The photo each file was made from, relative to the photos' folder. */
  source: Record<string, string>;
}

async function photosUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await photosUnder(p)));
    else if (/\.(jpe?g|png)$/i.test(e.name)) out.push(p);
  }
  return out.sort();
}

async function transformed(file: string, t: Transform, rng: Rng): Promise<Buffer> {
  const img = sharp(file);
  const { width, height } = await img.metadata();
  const w = width!;
  const h = height!;
  const q90 = { quality: 90 };
  switch (t) {
    case 'crop': {
      const cw = Math.round(w * 0.8);
      const ch = Math.round(h * 0.8);
      const left = rng.int(w - cw + 1);
      const top = rng.int(h - ch + 1);
      return img.extract({ left, top, width: cw, height: ch }).jpeg(q90).toBuffer();
    }
    case 'hflip':
      return img.flop().jpeg(q90).toBuffer();
    case 'vflip':
      return img.flip().jpeg(q90).toBuffer();
    case 'rot25':
      return img
        .rotate(25, { background: { r: 0, g: 0, b: 0 } })
        .jpeg(q90)
        .toBuffer();
    case 'half':
      return img
        .resize(Math.round(w / 2), Math.round(h / 2))
        .jpeg(q90)
        .toBuffer();
    case 'jpeg30':
      return img.jpeg({ quality: 30 }).toBuffer();
    case 'bright':
      return img.modulate({ brightness: 1.2 }).jpeg(q90).toBuffer();
  }
}

/** Writes the set into `out` (created; files already there of the same names are replaced). Deterministic for a seed. */
export async function makeTransformedSet(
  photosDir: string,
  out: string,
  { originals = 300, seed = 34 } = {},
): Promise<TransformedSet> {
  const photos = await photosUnder(photosDir);
  if (photos.length < originals)
    throw new Error(`makeTransformedSet: ${photosDir} holds ${photos.length} photos; ${originals} originals asked.`);
  const rng = new Rng(seed);
  const order = rng.shuffle(photos.map((_, i) => i));
  const chosen = new Set(order.slice(0, originals));
  await mkdir(out, { recursive: true });
  const truth: Record<string, string[]> = {};
  const kind: TransformedSet['kind'] = {};
  const source: Record<string, string> = {};
  let g = 0;
  for (let i = 0; i < photos.length; i++) {
    const src = photos[i];
    if (!chosen.has(i)) {
      const name = `d${String(i).padStart(4, '0')}${extname(src).toLowerCase()}`;
      await copyFile(src, join(out, name));
      truth[name] = [];
      kind[name] = 'distractor';
      source[name] = relative(photosDir, src);
      continue;
    }
    const stem = `g${String(g++).padStart(3, '0')}`;
    const names = [`${stem}-original${extname(src).toLowerCase()}`, ...TRANSFORMS.map((t) => `${stem}-${t}.jpg`)];
    await copyFile(src, join(out, names[0]));
    kind[names[0]] = 'original';
    for (let j = 0; j < TRANSFORMS.length; j++) {
      await writeFile(join(out, names[j + 1]), await transformed(src, TRANSFORMS[j], rng));
      kind[names[j + 1]] = TRANSFORMS[j];
    }
    for (const n of names) {
      truth[n] = names.filter((m) => m !== n);
      source[n] = relative(photosDir, src);
    }
  }
  // Photos that are one photo: every file made from either is a duplicate of every file made from the other.
  for (const [x, y] of SAME_PHOTO) {
    const made = Object.keys(source).filter((f) => source[f] === x || source[f] === y);
    for (const f of made) truth[f] = made.filter((g) => g !== f).sort();
  }
  const files = Object.keys(truth).sort();
  return { dir: out, files, truth: Object.fromEntries(files.map((f) => [f, truth[f]])), kind, source };
}
