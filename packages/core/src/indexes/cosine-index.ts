import { CbirError } from '../errors.js';
import type { Matrix } from '../matrix.js';
import { ExactEuclideanIndex } from './exact-euclidean-index.js';
import { checkMatrix, type ItemMetadata, type Metric, type SearchResult } from './index.js';
import { scaleToUnit } from '../compute/normalize.js';

/**
 * A row-normalised copy of `m`; throws a CbirError on a zero row (its cosine distance is undefined), naming `where`.
 *
 * @example
 * ```ts
 * const unit = normalizeRows('MyIndex.add', vectors, 'vectors');
 * ```
 */
export function normalizeRows(where: string, m: Matrix, what: string): Matrix {
  const out = m.data.slice(0, m.rows * m.cols);
  for (let i = 0; i < m.rows; i++) {
    if (scaleToUnit(out.subarray(i * m.cols, (i + 1) * m.cols)) === 0) {
      throw new CbirError(
        'INVALID_ARGUMENT',
        `${where}: ${what} row ${i} is the zero vector, whose cosine distance is undefined. Remove it, or use ExactEuclideanIndex.`,
      );
    }
  }
  return { data: out, rows: m.rows, cols: m.cols };
}

/**
 * Exact nearest neighbours by cosine distance, `1 - cos(q, x)` (scipy's `cosine`, as the notebook), ties broken by id.
 * Vectors are stored unit-normalised, so the scan is {@link ExactEuclideanIndex}'s (on unit vectors
 * `|q - x|^2 = 2 (1 - cos)` ranks the same); a zero vector is an error at `add`, not NaN at query time.
 *
 * @example
 * ```ts
 * const index = new CosineIndex(256);
 * index.add(features);
 * index.search(query, 5).distances;   // in [0, 2]
 * ```
 */
export class CosineIndex extends ExactEuclideanIndex {
  override readonly kind: string = 'cosine';
  override readonly metric: Metric = 'cosine';
  protected override readonly className: string = 'CosineIndex';
  /** Unit rows: `1 - x.q` ranks as `-x.q`, whatever rounding left in `|x|^2`. */
  protected override readonly rankByDot: boolean = true;

  override add(vectors: Matrix, ids?: ArrayLike<number>, metadata?: readonly (ItemMetadata | undefined)[]): void {
    checkMatrix('CosineIndex.add', vectors, this.dim, 'vectors');
    super.add(normalizeRows('CosineIndex.add', vectors, 'vectors'), ids, metadata);
  }

  override search(queries: Matrix, k: number): SearchResult {
    checkMatrix('CosineIndex.search', queries, this.dim, 'queries');
    return super.search(normalizeRows('CosineIndex.search', queries, 'queries'), k);
  }

  protected override queryRows(queries: Matrix): Matrix {
    return normalizeRows('CosineIndex.searchAmong', queries, 'queries');
  }

  /** `1 - x.q` in float64 for the unit row `r` and unit query. */
  protected override distance(r: number, q: Float32Array, qo: number): number {
    let s = 0;
    const o = r * this.dim;
    const data = this.store.data;
    for (let j = 0; j < this.dim; j++) s += data[o + j] * q[qo + j];
    return 1 - s;
  }

  protected override fromSquared(sq: number, r: number, qn: number): number {
    return 1 - (this.rowNorm(r) + qn - sq) / 2;
  }

  protected override squaredForBound(d: number): number {
    return 2 * d;
  }
}
