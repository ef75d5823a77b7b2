import { CbirError } from '../errors.js';

const N = 624;
const M = 397;

/**
 * numpy's legacy `np.random.RandomState`: the MT19937 generator with numpy's seeding and numpy's ways of turning its
 * words into integers, floats and permutations. scikit-learn draws every random choice through it (`random_state=0`
 * is `RandomState(0)`), so the same seed here gives the notebook's split and KMeans starts, draw for draw.
 *
 * Written by hand because it must be bit-exact with numpy (its seeding, its masked rejection sampling and its 53-bit
 * floats), which general-purpose MT19937 packages on npm do not promise.
 *
 * @example
 * ```ts
 * const rs = new RandomState(0);
 * rs.permutation(5);    // Int32Array [2, 0, 1, 3, 4]: np.random.RandomState(0).permutation(5)
 * rs.randomSample();    // the next float in [0, 1), as rs.random_sample()
 * ```
 */
export class RandomState {
  private readonly mt = new Uint32Array(N);
  private index = N;

  /** @param seed - An integer in [0, 2^32 - 1], as numpy accepts. */
  constructor(seed = 0) {
    RandomState.checkSeed(seed);
    // init_genrand, numpy's `_legacy_seeding` for an integer seed.
    const mt = this.mt;
    mt[0] = seed >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      // 1812433253 * prev in 32 bits, split in halves so that no product exceeds 2^53.
      mt[i] = (((((prev & 0xffff0000) >>> 16) * 1812433253) << 16) + (prev & 0x0000ffff) * 1812433253 + i) >>> 0;
    }
  }

  /** Throws unless `seed` is one numpy accepts: an integer in [0, 2^32 - 1]. */
  static checkSeed(seed: number): void {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new CbirError(
        'INVALID_ARGUMENT',
        `RandomState: the seed must be an integer between 0 and 2**32 - 1 (numpy's range), got ${seed}.`,
      );
    }
  }

  /** The next 32-bit word (`genrand_int32`). */
  nextUint32(): number {
    const mt = this.mt;
    if (this.index >= N) {
      for (let k = 0; k < N; k++) {
        const y = (mt[k] & 0x80000000) | (mt[(k + 1) % N] & 0x7fffffff);
        mt[k] = mt[(k + M) % N] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      this.index = 0;
    }
    let y = mt[this.index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** A float in [0, 1) with 53 random bits (`random_sample`, `uniform()`'s source). */
  randomSample(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** `uniform(low, high)`: `low + (high - low) * random_sample()`. */
  uniform(low = 0, high = 1): number {
    return low + (high - low) * this.randomSample();
  }

  /**
   * An integer in [0, `high`), as `randint(high)` (and `random_interval(high - 1)`): 32-bit words masked to the
   * bit length of `high - 1`, rejected until in range.
   */
  randint(high: number): number {
    if (!Number.isInteger(high) || high < 1 || high > 2 ** 32) {
      throw new CbirError(
        'INVALID_ARGUMENT',
        `RandomState.randint: high must be an integer in [1, 2**32], got ${high}.`,
      );
    }
    return this.interval(high - 1);
  }

  /** An integer in [0, max] by numpy's masked rejection (`random_interval`). */
  private interval(max: number): number {
    if (max === 0) return 0;
    let mask = max;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    mask >>>= 0;
    let v: number;
    do v = (this.nextUint32() & mask) >>> 0;
    while (v > max);
    return v;
  }

  /** Shuffles `items` in place as `shuffle` does a 1-d array (Fisher-Yates from the end) and returns it. */
  shuffle<T extends { length: number; [i: number]: unknown }>(items: T): T {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.interval(i);
      const t = items[i];
      items[i] = items[j];
      items[j] = t;
    }
    return items;
  }

  /** `permutation(n)`: a shuffled `arange(n)`. */
  permutation(n: number): Int32Array {
    return this.shuffle(Int32Array.from({ length: n }, (_, i) => i));
  }
}

/** What {@link trainTestSplit} returns: row numbers, in scikit-learn's order (not sorted). */
export interface TrainTestSplit {
  readonly train: number[];
  readonly test: number[];
}

/**
 * scikit-learn's `train_test_split(rows, test_size=testSize, random_state=randomState)` as row numbers: the test set
 * is the first `ceil(testSize * n)` entries of `RandomState(randomState).permutation(n)`, the training set the rest,
 * both in that order. The notebook's 85/15 split is `trainTestSplit(n, 0.15, 0)`; for the same ordered file list the
 * rows are the notebook's.
 *
 * @param n - The number of rows.
 * @param testSize - The fraction held out, in (0, 1). @defaultValue 0.25 (scikit-learn's)
 * @param randomState - numpy's seed. @defaultValue 0
 * @throws {@link CbirError} (`INVALID_ARGUMENT`) when a set would be empty, as scikit-learn refuses it.
 *
 * @example
 * ```ts
 * const { train, test } = trainTestSplit(1000, 0.15, 0);   // 850 and 150 rows: the notebook's split of 1,000 files
 * ```
 */
export function trainTestSplit(n: number, testSize = 0.25, randomState = 0): TrainTestSplit {
  if (!Number.isInteger(n) || n < 0)
    throw new CbirError('INVALID_ARGUMENT', `trainTestSplit: n must be a non-negative integer, got ${n}.`);
  if (!(testSize > 0 && testSize < 1))
    throw new CbirError('INVALID_ARGUMENT', `trainTestSplit: testSize must be a fraction in (0, 1), got ${testSize}.`);
  // scikit-learn's _validate_shuffle_split: ceil for the test set (the product in float64, as Python computes it).
  const nTest = Math.ceil(testSize * n);
  const nTrain = n - nTest;
  if (nTrain <= 0 || nTest <= 0) {
    throw new CbirError(
      'INVALID_ARGUMENT',
      `trainTestSplit: with ${n} rows and testSize ${testSize}, the training set would be empty; use more rows or a smaller testSize.`,
    );
  }
  const order = Array.from(new RandomState(randomState).permutation(n));
  return { test: order.slice(0, nTest), train: order.slice(nTest) };
}
