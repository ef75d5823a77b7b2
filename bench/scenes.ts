// Shared by the benchmarks that run the built CLI over synthetic folders (bench:dedup-scale, bench:sync).
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import type { Rng } from 'cbir-core';

const cli = join(resolve(import.meta.dirname, '..'), 'packages/cli/dist/main.js');

/** A seeded scene: a gradient and 12 rectangles of random colours, as raw RGB. */
export function scene(rng: Rng, W: number, H: number): Buffer {
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

/** Runs the CLI under GNU time: stdout, stderr, wall seconds and peak RSS in MB. */
export function timed(args: string[]) {
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
