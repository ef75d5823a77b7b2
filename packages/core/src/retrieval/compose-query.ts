import { CbirError } from '../errors.js';
import type { Metric } from '../indexes/index.js';

/** One example of a composed query: a vector and its weight (1 unless given). */
export interface QueryExample {
  vector: Float32Array;
  /** How much this example counts against the others of its side (positive or negative). @defaultValue 1 */
  weight?: number;
}

/** Options of {@link composeQuery}. */
export interface ComposeQueryOptions {
  /**
   * How far the negative examples push the query away (Rocchio's gamma): the query is the positives' weighted mean
   * minus this times the negatives' weighted mean. @defaultValue 0.25
   */
  negativeWeight?: number;
  /**
   * The index's metric: for `cosine` every example is scaled to unit length first (so each counts by its direction,
   * as the index compares them), and the result too. @defaultValue 'euclidean'
   */
  metric?: Metric;
}

/**
 * One query vector from several examples, positive and negative (Rocchio's relevance feedback, with alpha 0 and beta
 * 1): `q = sum(w_i p_i) / sum(w_i) - negativeWeight * sum(v_j n_j) / sum(v_j)`, computed in float64. On a cosine
 * index each example is unit-normalised before and the query after, so "like these, not like that" means directions.
 * One positive and no negative gives that positive (normalised on cosine) back.
 *
 * @throws {@link CbirError} INVALID_ARGUMENT with no positive example, a vector of another length, a weight that is
 *   not a finite number > 0, a zero vector on cosine, or a query that comes out zero.
 * @example
 * ```ts
 * const q = composeQuery([{ vector: beach1 }, { vector: beach2 }], [{ vector: crowded }], { metric: 'cosine' });
 * const hits = await retriever.search({ data: q, rows: 1, cols: q.length }, 10);
 * ```
 */
export function composeQuery(
  positives: readonly QueryExample[],
  negatives: readonly QueryExample[] = [],
  options: ComposeQueryOptions = {},
): Float32Array {
  const gamma = options.negativeWeight ?? 0.25;
  const cosine = options.metric === 'cosine';
  if (positives.length === 0)
    throw new CbirError('INVALID_ARGUMENT', 'composeQuery: give at least one positive example (what to look like).');
  if (!(Number.isFinite(gamma) && gamma >= 0))
    throw new CbirError('INVALID_ARGUMENT', `composeQuery: negativeWeight must be a number >= 0, got ${gamma}.`);
  const dim = positives[0].vector.length;
  const mean = (examples: readonly QueryExample[], what: string): Float64Array => {
    const sum = new Float64Array(dim);
    let total = 0;
    examples.forEach(({ vector, weight = 1 }, i) => {
      if (vector.length !== dim)
        throw new CbirError(
          'INVALID_ARGUMENT',
          `composeQuery: ${what} example ${i} has ${vector.length} values; the first positive has ${dim}.`,
        );
      if (!(Number.isFinite(weight) && weight > 0))
        throw new CbirError(
          'INVALID_ARGUMENT',
          `composeQuery: ${what} example ${i} has weight ${weight}; weights are numbers > 0.`,
        );
      let scale = 1;
      if (cosine) {
        let n = 0;
        for (let j = 0; j < dim; j++) n += vector[j] * vector[j];
        if (!(n > 0))
          throw new CbirError(
            'INVALID_ARGUMENT',
            `composeQuery: ${what} example ${i} is a zero vector, which has no direction on a cosine index.`,
          );
        scale = 1 / Math.sqrt(n);
      }
      for (let j = 0; j < dim; j++) sum[j] += weight * scale * vector[j];
      total += weight;
    });
    for (let j = 0; j < dim; j++) sum[j] /= total;
    return sum;
  };
  const q = mean(positives, 'positive');
  if (negatives.length > 0 && gamma > 0) {
    const n = mean(negatives, 'negative');
    for (let j = 0; j < dim; j++) q[j] -= gamma * n[j];
  }
  let norm = 0;
  for (let j = 0; j < dim; j++) norm += q[j] * q[j];
  if (cosine) {
    if (!(norm > 0))
      throw new CbirError(
        'INVALID_ARGUMENT',
        'composeQuery: the examples cancel out (the query is a zero vector): lower negativeWeight or change the examples.',
      );
    const s = 1 / Math.sqrt(norm);
    for (let j = 0; j < dim; j++) q[j] *= s;
  }
  return Float32Array.from(q);
}
