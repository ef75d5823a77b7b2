// bench:dedup-scale: `cbir dedup` on a synthetic folder of 100,000 images, for its memory ceiling and its resumable
// encodings. Nothing from ../shared is needed.
//   CBIR_DEDUP_N      images (default 100,000): 90% distinct scenes, 10% copies of one of them (twice the size, or
//                     half, recompressed as JPEG quality 50)
//   CBIR_DEDUP_METHOD the mode (default phash; orb holds about 0.3 MB per image, see docs/guides/duplicates.md)
//   CBIR_DEDUP_DIR    keep the folder here (default: a temporary folder, removed)
// Runs the built CLI under GNU time twice with --encodings: the first run hashes every file, the second only stats
// them. Prints wall time, images/s and peak RSS of each, and how many of the planted copies were found.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type Sharp from 'sharp';
import { Rng } from 'cbir-core';

// sharp by require: the repository's root does not resolve it as an ES module.
const sharp = createRequire(import.meta.url)('sharp') as typeof Sharp;
const root = resolve(import.meta.dirname, '..');
const cli = join(root, 'packages/cli/dist/main.js');
const n = Number(process.env.CBIR_DEDUP_N ?? 100_000);
const method = process.env.CBIR_DEDUP_METHOD ?? 'phash';
const dir = process.env.CBIR_DEDUP_DIR
  ? resolve(process.env.CBIR_DEDUP_DIR)
  : await mkdtemp(join(tmpdir(), 'cbir-dedup-scale-'));
const [W, H] = [96, 72];

/** A seeded scene: a gradient and 12 rectangles of random colours, as raw RGB. */
function scene(rng: Rng): Buffer {
  const px = Buffer.alloc(W * H * 3);
  const [r0, g0, b0] = [rng.next() * 255, rng.next() * 255, rng.next() * 255];
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const o = (y * W + x) * 3;
      px[o] = r0 * (x / W);
      px[o + 1] = g0 * (y / H);
      px[o + 2] = b0;
    }
  for (let s = 0; s < 12; s++) {
    const [x0, y0] = [Math.floor(rng.next() * W), Math.floor(rng.next() * H)];
    const [w, h] = [4 + Math.floor(rng.next() * 40), 4 + Math.floor(rng.next() * 30)];
    const c = [rng.next() * 255, rng.next() * 255, rng.next() * 255];
    for (let y = y0; y < Math.min(H, y0 + h); y++)
      for (let x = x0; x < Math.min(W, x0 + w); x++) for (let k = 0; k < 3; k++) px[(y * W + x) * 3 + k] = c[k];
  }
  return px;
}

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
        const bytes = await sharp(scene(new Rng(seeds[id])), raw)
          .jpeg({ quality: 85 })
          .toBuffer();
        return writeFile(join(dir, fileOf(id)), bytes);
      }
      const of = Math.floor(rng.next() * distinct);
      const scale = rng.next() < 0.5 ? 2 : 0.5;
      planted.push([fileOf(of), fileOf(id)]);
      const bytes = await sharp(scene(new Rng(seeds[of])), raw)
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

/** Runs the CLI under GNU time: stdout, stderr, wall seconds and peak RSS in MB. */
function timed(args: string[]) {
  const run = spawnSync('/usr/bin/time', ['-v', process.execPath, cli, ...args], {
    maxBuffer: 1 << 30,
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`cbir ${args.join(' ')} failed (${run.status}): ${run.stderr.slice(-800)}`);
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/.exec(run.stderr)!;
  const seconds = Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]);
  const rss = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(run.stderr)![1]) / 1024;
  return { stdout: run.stdout, stderr: run.stderr, seconds, rss };
}

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
