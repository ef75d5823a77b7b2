import { UsageError } from './usage.js';

/** Parses `4..9`, `4,6,8` or `5` into a sorted list of distinct positive integers. */
export function parseIntRange(flag: string, value: string): number[] {
  const out = new Set<number>();
  for (const part of value.split(',')) {
    const m = /^\s*(\d+)\s*(?:\.\.\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new UsageError(`--${flag} takes a range like 4..9 or a list like 4,6,8; got "${value}".`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (lo < 1 || hi < lo)
      throw new UsageError(`--${flag}: "${part}" is not an increasing range of positive integers.`);
    for (let k = lo; k <= hi; k++) out.add(k);
  }
  return [...out].sort((a, b) => a - b);
}
