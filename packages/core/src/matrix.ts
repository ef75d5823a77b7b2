/** A dense float32 matrix, row-major: element `(i, j)` is `data[i * cols + j]`. Feature matrices are `[n, dim]`. */
export interface Matrix {
  data: Float32Array;
  rows: number;
  cols: number;
}
