import { Rng, type Matrix } from 'cbir-core';

/** `n` points in `d` dims around `centres` Gaussian centres (spread `scale`), unit noise; seeded, so runs compare. */
export function clustered(n: number, d: number, seed: number, centres = 64, scale = 3): Matrix {
  const rng = new Rng(seed);
  const c = Float32Array.from({ length: centres * d }, () => rng.normal() * scale);
  const data = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const k = rng.int(centres);
    for (let j = 0; j < d; j++) data[i * d + j] = c[k * d + j] + rng.normal();
  }
  return { data, rows: n, cols: d };
}

/** p50 and p99 in ms of `count` sequential calls of `fn(i)`. */
export async function latencies(fn: (i: number) => unknown, count: number): Promise<{ p50: number; p99: number }> {
  const t: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await fn(i);
    t.push(performance.now() - t0);
  }
  t.sort((a, b) => a - b);
  return { p50: t[Math.floor(count * 0.5)], p99: t[Math.min(count - 1, Math.floor(count * 0.99))] };
}
