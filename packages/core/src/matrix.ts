import { CbirError } from './errors.js';

/** A dense float32 matrix, row-major: element `(i, j)` is `data[i * cols + j]`. Feature matrices are `[n, dim]`. */
export interface Matrix {
  data: Float32Array;
  rows: number;
  cols: number;
}

/**
 * Checks a matrix at an API boundary: its shape, that it has rows, and that every value is finite. `firstNonFinite`
 * finds the first NaN or infinity (index into `data`, or -1); callers holding `m` in SIMD memory pass a faster one.
 * @internal
 */
export function checkFiniteMatrix(
  where: string,
  m: Matrix,
  what: string,
  firstNonFinite: (m: Matrix) => number = firstNonFiniteJs,
): void {
  if (!m || !(m.data instanceof Float32Array) || m.data.length !== m.rows * m.cols || m.cols < 1) {
    throw new CbirError(
      'INVALID_ARGUMENT',
      `${where}: ${what} must be a Matrix { data: Float32Array, rows, cols } with data.length = rows * cols.`,
    );
  }
  if (m.rows === 0) throw new CbirError('INVALID_ARGUMENT', `${where}: ${what} is empty (0 rows).`);
  const i = firstNonFinite(m);
  if (i >= 0)
    throw new CbirError(
      'INVALID_ARGUMENT',
      `${where}: ${what} row ${Math.floor(i / m.cols)} has a non-finite value (${m.data[i]}) at column ${i % m.cols}.`,
    );
}

/** The index of the first NaN or infinity in `m.data`, or -1. @internal */
export function firstNonFiniteJs(m: Matrix): number {
  const data = m.data;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    // v - v is 0 for every finite v, NaN for NaN and the infinities (a faster test than Number.isFinite here).
    if (v - v !== 0) return i;
  }
  return -1;
}

/**
 * The rows `rows` of `x` (in that order, repeats allowed) as a new matrix.
 *
 * @example
 * ```ts
 * const sample = selectRows(features, [0, 5, 9]);   // Matrix [3, features.cols]
 * ```
 */
export function selectRows(x: Matrix, rows: ArrayLike<number>): Matrix {
  const { cols } = x;
  const data = new Float32Array(rows.length * cols);
  for (let i = 0; i < rows.length; i++) data.set(x.data.subarray(rows[i] * cols, (rows[i] + 1) * cols), i * cols);
  return { data, rows: rows.length, cols };
}
