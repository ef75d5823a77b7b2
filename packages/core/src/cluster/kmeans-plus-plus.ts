import type { RandomState } from '../utils/random-state.js';
import type { PointDistances } from '../compute/point-distances/point-distances.js';

/**
 * Greedy k-means++ seeding as scikit-learn's `_kmeans_plusplus` does it: the first centre uniformly at random, then for
 * each next centre `2 + floor(ln k)` candidates sampled with probability proportional to the squared distance to the
 * nearest centre so far, keeping the candidate that lowers the potential (sum of those squared distances) most.
 *
 * @returns The indices of the rows chosen as centres, in order.
 * @internal
 */
export function kmeansPlusPlus(points: PointDistances, k: number, rng: RandomState): number[] {
  const { rows: n, dim } = points;
  const x = points.x.data;
  const trials = 2 + Math.floor(Math.log(k));
  const chosen = [rng.randint(n)];
  let closest = points.toPoints(x.subarray(chosen[0] * dim, (chosen[0] + 1) * dim), 1);
  let potential = sum(closest);
  const cumsum = new Float64Array(n);
  for (let c = 1; c < k; c++) {
    let acc = 0;
    for (let i = 0; i < n; i++) cumsum[i] = acc += closest[i];
    const candidates = Array.from({ length: trials }, () =>
      Math.min(n - 1, searchSorted(cumsum, rng.randomSample() * potential)),
    );
    const cand = new Float32Array(trials * dim);
    candidates.forEach((r, t) => cand.set(x.subarray(r * dim, (r + 1) * dim), t * dim));
    const d = points.toPoints(cand, trials);
    let best = -1;
    let bestPot = Infinity;
    for (let t = 0; t < trials; t++) {
      let pot = 0;
      for (let i = 0; i < n; i++) pot += Math.min(closest[i], d[i * trials + t]);
      if (pot < bestPot) {
        bestPot = pot;
        best = t;
      }
    }
    const next = new Float64Array(n);
    for (let i = 0; i < n; i++) next[i] = Math.min(closest[i], d[i * trials + best]);
    closest = next;
    potential = bestPot;
    chosen.push(candidates[best]);
  }
  return chosen;
}

/** The first index whose value is >= `v` (numpy's `searchsorted`, side 'left'). */
function searchSorted(sorted: Float64Array, v: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function sum(a: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}
