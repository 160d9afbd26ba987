import { badOption } from "./errors.js";
/**
 * Keeps the k best `(id, score)` pairs pushed into it: higher score first,
 * and between equal scores the lower id (the project-wide tie rule). A
 * bounded binary heap over preallocated arrays: push is O(log k), nothing is
 * allocated after construction. NaN scores are ignored.
 */
export class TopK {
  private heapIds: Int32Array;
  private heapScores: Float64Array;
  private k: number;
  private count = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 0) {
      throw badOption(`capacity must be a non-negative integer, but is ${capacity}`);
    }
    this.k = capacity;
    this.heapIds = new Int32Array(capacity);
    this.heapScores = new Float64Array(capacity);
  }

  /** Number of pairs held (at most k). */
  get size(): number {
    return this.count;
  }

  /** Empties the selector; optionally changes k (reallocating only when it grows). */
  reset(k: number = this.k): void {
    if (k > this.heapIds.length) {
      this.heapIds = new Int32Array(k);
      this.heapScores = new Float64Array(k);
    }
    this.k = k;
    this.count = 0;
  }

  /** The score a new pair must beat once k pairs are held (-Infinity before). */
  threshold(): number {
    return this.count < this.k ? Number.NEGATIVE_INFINITY : this.heapScores[0];
  }

  /** Offers a pair; keeps it if it is among the k best so far. */
  push(id: number, score: number): void {
    const ids = this.heapIds;
    const scores = this.heapScores;
    if (this.count < this.k) {
      if (Number.isNaN(score)) return;
      // Sift up: the root is the worst pair held.
      let i = this.count++;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        const ps = scores[parent];
        if (ps < score || (ps === score && ids[parent] > id)) break;
        ids[i] = ids[parent];
        scores[i] = ps;
        i = parent;
      }
      ids[i] = id;
      scores[i] = score;
      return;
    }
    if (this.k === 0) return;
    const rootScore = scores[0];
    if (!(score > rootScore || (score === rootScore && id < ids[0]))) return;
    siftDownFromRoot(this.heapIds, this.heapScores, 0, this.count, id, score);
  }

  /**
   * Writes the held pairs best first into `outIds` / `outScores` from
   * `offset`, and empties the selector. Returns how many were written.
   */
  drainSorted(outIds: Int32Array, outScores: Float32Array | Float64Array, offset = 0): number {
    const n = this.count;
    // Pop the worst repeatedly, filling the output from the back.
    for (let end = n - 1; end >= 0; end--) {
      outIds[offset + end] = this.heapIds[0];
      outScores[offset + end] = this.heapScores[0];
      this.popRoot();
    }
    return n;
  }

  private popRoot(): void {
    const n = --this.count;
    if (n > 0)
      siftDownFromRoot(this.heapIds, this.heapScores, 0, n, this.heapIds[n], this.heapScores[n]);
  }
}

/**
 * Puts `(id, key)` at the root of the heap `[base, base + n)` of `ids` /
 * `keys` and sifts it down to its place. The heap keeps its worst pair at
 * the root: the lowest key, and among equal keys the largest id (so the
 * kept top-k prefers smaller ids on ties).
 */
export function siftDownFromRoot(
  ids: Int32Array,
  keys: Float64Array,
  base: number,
  n: number,
  id: number,
  key: number,
): void {
  let i = 0;
  for (;;) {
    const left = 2 * i + 1;
    if (left >= n) break;
    let worst = left;
    const right = left + 1;
    if (right < n) {
      const lk = keys[base + left];
      const rk = keys[base + right];
      if (rk < lk || (rk === lk && ids[base + right] > ids[base + left])) worst = right;
    }
    const wk = keys[base + worst];
    if (key < wk || (key === wk && id > ids[base + worst])) break;
    ids[base + i] = ids[base + worst];
    keys[base + i] = wk;
    i = worst;
  }
  ids[base + i] = id;
  keys[base + i] = key;
}
