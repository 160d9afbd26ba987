import { siftDownFromRoot } from "./top-k.js";
import type { KnnResult } from "./types.js";

/**
 * One bounded heap of the k best `(id, key)` pairs per row, all in flat
 * typed arrays (`n * k` records): a larger key is better, and between equal
 * keys the lower id (the project-wide tie rule). The root of every heap is
 * its worst pair, and `worstKey[r]` / `worstId[r]` mirror it (or `-Infinity`
 * / `2^31 - 1` while the heap is not full) so a caller can screen a
 * candidate inline with {@link RowHeaps.admits} before calling
 * {@link RowHeaps.insert}. Nothing is allocated after construction.
 *
 * NaN keys never enter (every comparison with NaN is false).
 */
export class RowHeaps {
  readonly rows: number;
  readonly k: number;
  readonly ids: Int32Array;
  readonly keys: Float64Array;
  readonly counts: Int32Array;
  readonly worstKey: Float64Array;
  readonly worstId: Int32Array;

  constructor(rows: number, k: number) {
    this.rows = rows;
    this.k = k;
    this.ids = new Int32Array(rows * k);
    this.keys = new Float64Array(rows * k);
    this.counts = new Int32Array(rows);
    this.worstKey = new Float64Array(rows).fill(Number.NEGATIVE_INFINITY);
    this.worstId = new Int32Array(rows).fill(0x7fffffff);
  }

  /** Whether `(id, key)` would enter row r's heap (it beats the worst held, or the heap has room). */
  admits(r: number, id: number, key: number): boolean {
    const w = this.worstKey[r];
    return key > w || (key === w && id < this.worstId[r]);
  }

  /**
   * Inserts `(id, key)` into row r's heap; the caller has checked
   * {@link RowHeaps.admits}. Does not look for an existing copy of `id`
   * (see {@link RowHeaps.insertUnique}).
   */
  insert(r: number, id: number, key: number): void {
    const k = this.k;
    if (k === 0) return;
    const base = r * k;
    const ids = this.ids;
    const keys = this.keys;
    const n = this.counts[r];
    if (n < k) {
      // Sift up from the end: the root is the worst pair.
      let i = n;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        const pk = keys[base + parent];
        if (pk < key || (pk === key && ids[base + parent] > id)) break;
        ids[base + i] = ids[base + parent];
        keys[base + i] = pk;
        i = parent;
      }
      ids[base + i] = id;
      keys[base + i] = key;
      this.counts[r] = n + 1;
      if (n + 1 === k) {
        this.worstKey[r] = keys[base];
        this.worstId[r] = ids[base];
      }
      return;
    }
    siftDownFromRoot(ids, keys, base, n, id, key);
    this.worstKey[r] = keys[base];
    this.worstId[r] = ids[base];
  }

  /** Whether row r's heap holds `id` (a linear scan of its k records). */
  has(r: number, id: number): boolean {
    const base = r * this.k;
    const ids = this.ids;
    for (let p = base, end = base + this.counts[r]; p < end; p++) if (ids[p] === id) return true;
    return false;
  }

  /**
   * Offers `(id, key)` to row r, ignoring an id already held. Returns
   * whether it entered.
   */
  insertUnique(r: number, id: number, key: number): boolean {
    const w = this.worstKey[r];
    if (!(key > w || (key === w && id < this.worstId[r]))) return false;
    if (this.has(r, id)) return false;
    this.insert(r, id, key);
    return true;
  }

  /**
   * Writes every heap best first into a {@link KnnResult} (missing entries:
   * id -1, score 0), turning keys into scores with `sign` (-1 when keys are
   * negated distances). Empties the heaps.
   */
  drain(sign: 1 | -1): KnnResult {
    const { rows, k, ids, keys, counts } = this;
    const outIds = new Int32Array(rows * k).fill(-1);
    const scores = new Float32Array(rows * k);
    for (let r = 0; r < rows; r++) {
      const base = r * k;
      // Pop the worst repeatedly, filling the record from the back.
      for (let n = counts[r]; n > 0; n--) {
        outIds[base + n - 1] = ids[base];
        scores[base + n - 1] = sign * keys[base];
        if (n > 1) siftDownFromRoot(ids, keys, base, n - 1, ids[base + n - 1], keys[base + n - 1]);
      }
      counts[r] = 0;
      this.worstKey[r] = Number.NEGATIVE_INFINITY;
      this.worstId[r] = 0x7fffffff;
    }
    return { rows, k, ids: outIds, scores };
  }
}
