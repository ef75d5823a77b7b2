// bench:dedup-scale: `cbir dedup` on a synthetic folder of 100,000 images, for its memory ceiling and its resumable
// encodings. Nothing from ../shared is needed.
//   CBIR_DEDUP_N      images (default 100,000): 90% distinct scenes, 10% copies of one of them (twice the size, or
//                     half, recompressed as JPEG quality 50)
//   CBIR_DEDUP_METHOD the mode (default phash; orb holds about 0.3 MB per image, see docs/guides/duplicates.md)
//   CBIR_DEDUP_DIR    keep the folder here (default: a temporary folder, removed)
// Runs the built CLI under GNU time twice with --encodings: the first run hashes every file, the second only stats
// them. Prints wall time, images/s and peak RSS of each, and how many of the planted copies were found.
import { createRequire } from 'node:module';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type Sharp from 'sharp';
import { Rng } from 'cbir-core';
import { scene, timed } from './scenes.js';

// sharp by require: the repository's root does not resolve it as an ES module.
const sharp = createRequire(import.meta.url)('sharp') as typeof Sharp;
const n = Number(process.env.CBIR_DEDUP_N ?? 100_000);
const method = process.env.CBIR_DEDUP_METHOD ?? 'phash';
const dir = process.env.CBIR_DEDUP_DIR
  ? resolve(process.env.CBIR_DEDUP_DIR)
  : await mkdtemp(join(tmpdir(), 'cbir-dedup-scale-'));
const [W, H] = [96, 72];

const rng = new Rng(34);
const distinct = Math.round(n * 0.9);
/** copyOf[i]: the scene file a copy was made from. */
const planted: [string, string][] = [];
const started = Date.now();
const raw = { raw: { width: W, height: H, channels: 3 as const } };
const fileOf = (i: number) => `${String(Math.floor(i / 1000)).padStart(3, '0')}/${i}.jpg`;
const seeds: number[] = [];
for (let i = 0; i < n; i += 1000) await mkdir(join(dir, fileOf(i), '..'), { recursive: true });
for (let i = 0; i < n; i += 64) {
  await Promise.all(
    Array.from({ length: Math.min(64, n - i) }, async (_, j) => {
      const id = i + j;
      if (id < distinct) {
        seeds[id] = Math.floor(rng.next() * 2 ** 31);
        const bytes = await sharp(scene(new Rng(seeds[id]), W, H), raw)
          .jpeg({ quality: 85 })
          .toBuffer();
        return writeFile(join(dir, fileOf(id)), bytes);
      }
      const of = Math.floor(rng.next() * distinct);
      const scale = rng.next() < 0.5 ? 2 : 0.5;
      planted.push([fileOf(of), fileOf(id)]);
      const bytes = await sharp(scene(new Rng(seeds[of]), W, H), raw)
        .resize(W * scale, H * scale, { kernel: 'lanczos3' })
        .jpeg({ quality: 50 })
        .toBuffer();
      return writeFile(join(dir, fileOf(id)), bytes);
    }),
  );
}
console.log(
  `bench:dedup-scale: ${n} images (${distinct} scenes, ${planted.length} copies) in ${dir} in ${((Date.now() - started) / 1000).toFixed(0)} s`,
);

const encodings = join(dir, '..', `cbir-dedup-scale-${method}.json`);
await rm(encodings, { force: true });
const args = ['dedup', '--data', dir, '--method', method, '--json'];
if (method !== 'orb') args.push('--encodings', encodings);
const rows: string[] = [];
for (const run of method === 'orb' ? ['first'] : ['first', 'again (encodings)']) {
  const t = timed(args);
  const found = JSON.parse(t.stdout.trim().split('\n').pop()!) as Record<string, string[]>;
  const pairs = Object.values(found).reduce((s, v) => s + v.length, 0) / 2;
  const hit = planted.filter(([a, b]) => found[a]?.includes(b)).length;
  rows.push(
    `| ${method}, ${run} | ${t.seconds.toFixed(0)} | ${(n / t.seconds).toFixed(0)} | ${t.rss.toFixed(0)} | ${pairs} | ${hit} of ${planted.length} |`,
  );
}
console.log(`\n| run | wall s | images/s | peak RSS MB | pairs | planted copies found |\n|---|---|---|---|---|---|`);
console.log(rows.join('\n'));
await rm(encodings, { force: true });
if (!process.env.CBIR_DEDUP_DIR) await rm(dir, { recursive: true });
