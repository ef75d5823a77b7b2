import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readNpy, type NpyArray } from 'cbir-core/io';

/** Bytes of a committed fixture file under packages/core/test/fixtures. */
export function fixtureBytes(path: string): Uint8Array {
  return new Uint8Array(readFileSync(fileURLToPath(new URL(`../fixtures/${path}`, import.meta.url))));
}

export function fixtureNpy(path: string): NpyArray {
  return readNpy(fixtureBytes(path), path);
}

export function fixtureJson<T>(path: string): T {
  return JSON.parse(new TextDecoder().decode(fixtureBytes(path))) as T;
}

/** Largest absolute difference between two arrays of equal length. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
