/**
 * The `k` smallest (value, item) pairs of a stream, kept in a bounded max-heap: one pass, `O(log k)` per item that
 * enters. Equal values are ordered by a key (the item's id, say; the item itself by default), smaller first, so the
 * result does not depend on the order items arrive in. The exact indexes' scans, LSH's candidates and the diffusion
 * re-ranker's top scores all keep their best this way.
 * @internal
 */
export class TopK {
  readonly vals: Float64Array;
  readonly items: Int32Array;
  private readonly keys: Float64Array;
  /** How many pairs are held (at most `k`). */
  n = 0;

  constructor(readonly k: number) {
    this.vals = new Float64Array(k);
    this.items = new Int32Array(k);
    this.keys = new Float64Array(k);
  }

  /** The largest value held once `k` are held (an item must be smaller to enter); Infinity before; -Infinity for k = 0. */
  get worst(): number {
    if (this.k === 0) return -Infinity;
    return this.n < this.k ? Infinity : this.vals[0];
  }

  /** Offers `item` with value `v` (ties: the smaller `key` is kept). */
  push(v: number, item: number, key: number = item): void {
    const { vals, items, keys, k } = this;
    if (k === 0) return;
    let i: number;
    if (this.n < k) {
      // Sift up from the end.
      i = this.n++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (vals[p] > v || (vals[p] === v && keys[p] > key)) break;
        vals[i] = vals[p];
        items[i] = items[p];
        keys[i] = keys[p];
        i = p;
      }
    } else {
      if (v > vals[0] || (v === vals[0] && key >= keys[0])) return;
      // Replace the root and sift down.
      i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= k) break;
        const c =
          l + 1 < k && (vals[l + 1] > vals[l] || (vals[l + 1] === vals[l] && keys[l + 1] > keys[l])) ? l + 1 : l;
        if (vals[c] < v || (vals[c] === v && keys[c] < key)) break;
        vals[i] = vals[c];
        items[i] = items[c];
        keys[i] = keys[c];
        i = c;
      }
    }
    vals[i] = v;
    items[i] = item;
    keys[i] = key;
  }

  /** The items held, ascending by (value, key). */
  sorted(): number[] {
    const order = Array.from({ length: this.n }, (_, j) => j);
    order.sort((a, b) => this.vals[a] - this.vals[b] || this.keys[a] - this.keys[b]);
    return order.map((j) => this.items[j]);
  }
}
