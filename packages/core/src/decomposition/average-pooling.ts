import { CbirError, DimensionMismatchError } from '../errors.js';
import type { Matrix } from '../matrix.js';

/**
 * The mean over space of each channel of NHWC feature maps (`[h, w, c]` per row, row-major): `c` values per row. The
 * autoencoder's `avgpool` reducer. It learns nothing: `fit` only checks the rows' width and returns this, so it goes
 * where the fitted transforms go.
 *
 * @example
 * ```ts
 * const pool = new AveragePooling({ shape: [42, 42, 8] });   // [h, w, c]
 * const features = pool.fit(latents).transform(latents);    // Matrix [n, 8]
 * ```
 */
export class AveragePooling {
  /** The maps' shape, `[h, w, c]`. */
  readonly shape: readonly [number, number, number];

  constructor(options: { shape: readonly [number, number, number] }) {
    const s = options.shape;
    if (!Array.isArray(s) || s.length !== 3 || !s.every((v) => Number.isInteger(v) && v >= 1))
      throw new CbirError(
        'INVALID_ARGUMENT',
        `AveragePooling: shape must be [h, w, c] of positive integers, got ${JSON.stringify(s)}.`,
      );
    this.shape = [s[0], s[1], s[2]];
  }

  /** The output dimension (the channels). */
  get nComponents(): number {
    return this.shape[2];
  }

  /** Checks that `x`'s rows are `h * w * c` wide. Returns this. */
  fit(x: Pick<Matrix, 'cols'>): this {
    this.check(x.cols);
    return this;
  }

  /** Each row's channel means: `[n, c]`. @throws {@link DimensionMismatchError} for rows of another width. */
  transform(x: Matrix, out = new Float32Array(x.rows * this.shape[2])): Matrix {
    this.check(x.cols);
    const [h, w, c] = this.shape;
    out.fill(0);
    for (let r = 0; r < x.rows; r++) {
      const row = x.data.subarray(r * x.cols, (r + 1) * x.cols);
      const o = out.subarray(r * c, (r + 1) * c);
      for (let p = 0; p < h * w; p++) for (let k = 0; k < c; k++) o[k] += row[p * c + k];
      for (let k = 0; k < c; k++) o[k] /= h * w;
    }
    return { data: out, rows: x.rows, cols: c };
  }

  private check(cols: number): void {
    const [h, w, c] = this.shape;
    if (cols !== h * w * c)
      throw new DimensionMismatchError(
        `AveragePooling: rows have ${cols} values; [${h}, ${w}, ${c}] maps have ${h * w * c}.`,
      );
  }
}
