import { mix32 } from "@annexml/sparse-io";
import type { PartitionArrays } from "./types.js";

/**
 * The FTRL-proximal state of the min-cut partitioner: for every (partition
 * k, feature f) a weight W, an accumulated squared gradient G (starting at 1)
 * and z. Two exact layouts behave identically (bit for bit): a dense
 * feature-major array and a sparse hash of the pairs ever touched.
 *
 * All arithmetic is done in double precision on values stored as float32,
 * and every stored value is read back (rounded) before it is used again, as
 * the original's float arrays do.
 */
export interface FtrlState {
  readonly k: number;
  readonly numFeatures: number;
  /** Bytes held by the state's arrays. */
  readonly bytes: number;
  /**
   * Seeds partition `c` with the row `x`: `W = x`, `G = 1`,
   * `z = W * sqrt(G) / eta0 + lambda * sign(W)`, so that the FTRL closed form
   * `W = eta0 * (z - lambda * sign(z)) / sqrt(G)` gives back exactly the seed
   * row (see ftrlInitialZ). Call once per partition, before any update.
   */
  seed(c: number, indices: Int32Array, values: Float32Array, from: number, to: number): void;
  /** `<x, c_c>` for the row `x = (indices[p], values[p]), p = from .. to - 1` (double sum in row order). */
  dot(c: number, indices: Int32Array, values: Float32Array, from: number, to: number): number;
  /** Adds `<x, c_k>` to `scores[k]` for every k (the caller zeroes `scores`). */
  scoreAll(
    indices: Int32Array,
    values: Float32Array,
    from: number,
    to: number,
    scores: Float64Array,
  ): void;
  /** One FTRL-proximal ascent step of partition `c` with gradient `coef * x` (see ftrlStep). */
  update(
    c: number,
    indices: Int32Array,
    values: Float32Array,
    from: number,
    to: number,
    coef: number,
  ): void;
  /**
   * The non-zero weights as an inverted index (partitions ascending per
   * feature). Consumes the state: G and z are released first, so that the
   * model's arrays never coexist with the whole training state; the state
   * must not be trained or queried afterwards (only `toArrays` again).
   */
  toArrays(): PartitionArrays;
}

/**
 * The initial z of a seeded weight w: `w * sqrt(G) / eta0 + lambda *
 * sign(w)` with G = 1. We read the spec's "plus lambda * sign(z)" with the
 * sign of the first term (= the sign of w), and sign(0) = 0: an explicit zero
 * in the seed row leaves z = 0 (the original adds -lambda there; either way
 * the weight is 0 and stays inside the L1 dead zone).
 */
export function ftrlInitialZ(w: number, eta0: number, lambda: number): number {
  const z = w / eta0;
  return z > 0 ? z + lambda : z < 0 ? z - lambda : 0;
}

/** Numerically stable logistic function. */
export function sigmoid(s: number): number {
  if (s > 0) return 1 / (1 + Math.exp(-s));
  const e = Math.exp(s);
  return e / (e + 1);
}

// What a consumed state points to instead of its G, z (and hash table).
const RELEASED = new Float32Array(0);
const RELEASED_INT = new Int32Array(0);

/** Dense layout: entry (k, f) at `f * stride + k`, `stride` = K rounded up to a multiple of 4. */
export class DenseFtrlState implements FtrlState {
  readonly k: number;
  readonly numFeatures: number;
  readonly stride: number;
  private readonly w: Float32Array;
  private g: Float32Array;
  private z: Float32Array;
  private readonly eta0: number;
  private readonly lambda: number;

  /** Bytes the dense state needs for K partitions and F features: `12 * ceil4(K) * F`. */
  static bytesFor(k: number, numFeatures: number): number {
    return 12 * denseStride(k) * numFeatures;
  }

  constructor(k: number, numFeatures: number, eta0: number, lambda: number) {
    this.k = k;
    this.numFeatures = numFeatures;
    this.stride = denseStride(k);
    const size = this.stride * numFeatures;
    this.w = new Float32Array(size);
    this.g = new Float32Array(size).fill(1);
    this.z = new Float32Array(size);
    this.eta0 = eta0;
    this.lambda = lambda;
  }

  get bytes(): number {
    return 12 * this.w.length;
  }

  seed(c: number, indices: Int32Array, values: Float32Array, from: number, to: number): void {
    const { w, z, stride, eta0, lambda } = this;
    for (let p = from; p < to; p++) {
      const i = indices[p] * stride + c;
      w[i] = values[p];
      z[i] = ftrlInitialZ(w[i], eta0, lambda);
    }
  }

  dot(c: number, indices: Int32Array, values: Float32Array, from: number, to: number): number {
    const { w, stride } = this;
    let s = 0;
    for (let p = from; p < to; p++) s += w[indices[p] * stride + c] * values[p];
    return s;
  }

  scoreAll(
    indices: Int32Array,
    values: Float32Array,
    from: number,
    to: number,
    scores: Float64Array,
  ): void {
    const { w, stride, k } = this;
    for (let p = from; p < to; p++) {
      const base = indices[p] * stride;
      const v = values[p];
      for (let c = 0; c < k; c++) scores[c] += w[base + c] * v;
    }
  }

  update(
    c: number,
    indices: Int32Array,
    values: Float32Array,
    from: number,
    to: number,
    coef: number,
  ): void {
    const { w, g, z, stride, eta0, lambda } = this;
    for (let p = from; p < to; p++) {
      const i = indices[p] * stride + c;
      const grad = coef * values[p];
      // Math.fround = the float32 the array will hold, without re-reading it.
      const gOld = g[i];
      const gNew = Math.fround(gOld + grad * grad);
      g[i] = gNew;
      const nNew = Math.sqrt(gNew);
      const zi = Math.fround(z[i] + (grad + ((nNew - Math.sqrt(gOld)) / eta0) * w[i]));
      z[i] = zi;
      w[i] =
        zi > lambda
          ? (eta0 * (zi - lambda)) / nNew
          : zi < -lambda
            ? (eta0 * (zi + lambda)) / nNew
            : 0;
    }
  }

  toArrays(): PartitionArrays {
    this.g = this.z = RELEASED;
    const { w, stride, k, numFeatures } = this;
    const featurePtr = new Int32Array(numFeatures + 1);
    for (let f = 0; f < numFeatures; f++) {
      let count = 0;
      for (let c = 0, base = f * stride; c < k; c++) if (w[base + c] !== 0) count++;
      featurePtr[f + 1] = featurePtr[f] + count;
    }
    const total = featurePtr[numFeatures];
    const partitions = new Int32Array(total);
    const weights = new Float32Array(total);
    let q = 0;
    for (let f = 0; f < numFeatures; f++) {
      for (let c = 0, base = f * stride; c < k; c++) {
        const v = w[base + c];
        if (v === 0) continue;
        partitions[q] = c;
        weights[q++] = v;
      }
    }
    return { k, numFeatures, featurePtr, partitions, weights };
  }
}

function denseStride(k: number): number {
  return (k + 3) & ~3;
}

// Sparse entry record: 8 words in one ArrayBuffer, read through an Int32
// and a Float32 view, so that one entry is one 32-byte block (a single cache
// miss per random access instead of one per field).
const REC = 8;
const R_K = 0;
const R_FEATURE = 1;
const R_NEXT = 2;
const R_PREV = 3;
const R_W = 4;
const R_G = 5;
const R_Z = 6;
const EMPTY = -1;

/**
 * Sparse layout: only the (partition, feature) pairs ever touched exist.
 * Each is a 32-byte record `(k, feature, next, prev, W, G, z)`; an
 * open-addressing table of record numbers (linear probing, load <= 1/2, keys
 * compared in full, so no two pairs ever share a value) finds the record of
 * a pair. The records whose W is non-zero are also linked, per feature, in a
 * doubly linked list (`head[f]`, `next`, `prev`) that {@link scoreAll} walks:
 * under the L1 penalty only a small part of the touched pairs has W != 0, so
 * scoring all K partitions needs no table probe at all.
 * An absent pair reads as W = 0, G = 1, z = 0.
 *
 * Size: 32 bytes per record plus 8 bytes of table per record of capacity,
 * and 4 bytes per feature; capacity doubles when full, so 40 to 80 bytes per
 * touched pair.
 */
export class SparseFtrlState implements FtrlState {
  readonly k: number;
  readonly numFeatures: number;
  private readonly eta0: number;
  private readonly lambda: number;
  private readonly head: Int32Array;
  private ints: Int32Array;
  private floats: Float32Array;
  private capacity: number;
  private count = 0;
  private table: Int32Array;
  private mask: number;

  constructor(
    k: number,
    numFeatures: number,
    eta0: number,
    lambda: number,
    initialCapacity = 1 << 12,
  ) {
    this.k = k;
    this.numFeatures = numFeatures;
    this.eta0 = eta0;
    this.lambda = lambda;
    this.head = new Int32Array(numFeatures).fill(EMPTY);
    let capacity = 16;
    while (capacity < initialCapacity) capacity *= 2;
    this.capacity = capacity;
    const buffer = new ArrayBuffer(capacity * REC * 4);
    this.ints = new Int32Array(buffer);
    this.floats = new Float32Array(buffer);
    this.table = new Int32Array(capacity * 2).fill(EMPTY);
    this.mask = capacity * 2 - 1;
  }

  /** Number of (partition, feature) pairs held. */
  get size(): number {
    return this.count;
  }

  get bytes(): number {
    return this.ints.byteLength + this.table.byteLength + this.head.byteLength;
  }

  seed(c: number, indices: Int32Array, values: Float32Array, from: number, to: number): void {
    for (let p = from; p < to; p++) {
      const r = this.findOrInsert(indices[p], c);
      this.setWeight(r, values[p]);
      this.floats[r + R_Z] = ftrlInitialZ(this.floats[r + R_W], this.eta0, this.lambda);
    }
  }

  dot(c: number, indices: Int32Array, values: Float32Array, from: number, to: number): number {
    const floats = this.floats;
    let s = 0;
    for (let p = from; p < to; p++) {
      const r = this.find(indices[p], c);
      if (r !== EMPTY) s += floats[r + R_W] * values[p];
    }
    return s;
  }

  scoreAll(
    indices: Int32Array,
    values: Float32Array,
    from: number,
    to: number,
    scores: Float64Array,
  ): void {
    // Skipping W = 0 gives the same sums as the dense layout: adding a zero
    // product never changes a sum that started at +0.
    const { head, ints, floats } = this;
    for (let p = from; p < to; p++) {
      const v = values[p];
      for (let r = head[indices[p]]; r !== EMPTY; r = ints[r + R_NEXT]) {
        scores[ints[r + R_K]] += floats[r + R_W] * v;
      }
    }
  }

  update(
    c: number,
    indices: Int32Array,
    values: Float32Array,
    from: number,
    to: number,
    coef: number,
  ): void {
    const { eta0, lambda } = this;
    for (let p = from; p < to; p++) {
      const r = this.findOrInsert(indices[p], c);
      const floats = this.floats; // after findOrInsert: it may have grown the records
      const wOld = floats[r + R_W];
      const grad = coef * values[p];
      const gOld = floats[r + R_G];
      const gNew = Math.fround(gOld + grad * grad);
      floats[r + R_G] = gNew;
      const nNew = Math.sqrt(gNew);
      const ze = Math.fround(floats[r + R_Z] + (grad + ((nNew - Math.sqrt(gOld)) / eta0) * wOld));
      floats[r + R_Z] = ze;
      const wNew = Math.fround(
        ze > lambda
          ? (eta0 * (ze - lambda)) / nNew
          : ze < -lambda
            ? (eta0 * (ze + lambda)) / nNew
            : 0,
      );
      if (wOld !== 0 && wNew !== 0) floats[r + R_W] = wNew;
      else this.setWeight(r, wNew);
    }
  }

  toArrays(): PartitionArrays {
    this.table = RELEASED_INT;
    const { head, ints, floats, k, numFeatures } = this;
    const featurePtr = new Int32Array(numFeatures + 1);
    for (let f = 0; f < numFeatures; f++) {
      let n = 0;
      for (let r = head[f]; r !== EMPTY; r = ints[r + R_NEXT]) n++;
      featurePtr[f + 1] = featurePtr[f] + n;
    }
    const total = featurePtr[numFeatures];
    const partitions = new Int32Array(total);
    const weights = new Float32Array(total);
    for (let f = 0; f < numFeatures; f++) {
      const from = featurePtr[f];
      let end = from;
      for (let r = head[f]; r !== EMPTY; r = ints[r + R_NEXT]) {
        // Insertion sort by partition: a list holds at most K records.
        const c = ints[r + R_K];
        let q = end++;
        while (q > from && partitions[q - 1] > c) {
          partitions[q] = partitions[q - 1];
          weights[q] = weights[q - 1];
          q--;
        }
        partitions[q] = c;
        weights[q] = floats[r + R_W];
      }
    }
    return { k, numFeatures, featurePtr, partitions, weights };
  }

  /** Stores W of record r, keeping the per-feature list of non-zero weights in step. */
  private setWeight(r: number, value: number): void {
    const { ints, floats, head } = this;
    const was = floats[r + R_W] !== 0;
    floats[r + R_W] = value;
    const is = floats[r + R_W] !== 0;
    if (was === is) return;
    const f = ints[r + R_FEATURE];
    if (is) {
      const first = head[f];
      ints[r + R_NEXT] = first;
      ints[r + R_PREV] = EMPTY;
      if (first !== EMPTY) ints[first + R_PREV] = r;
      head[f] = r;
    } else {
      const next = ints[r + R_NEXT];
      const prev = ints[r + R_PREV];
      if (prev === EMPTY) head[f] = next;
      else ints[prev + R_NEXT] = next;
      if (next !== EMPTY) ints[next + R_PREV] = prev;
    }
  }

  private slotOf(f: number, c: number): number {
    return mix32((Math.imul(f, 0x9e3779b1) ^ c) >>> 0) & this.mask;
  }

  /** The record offset (entry number * 8) of the pair, or EMPTY. */
  private find(f: number, c: number): number {
    const { table, ints, mask } = this;
    for (let s = this.slotOf(f, c); ; s = (s + 1) & mask) {
      const r = table[s];
      if (r === EMPTY || (ints[r + R_FEATURE] === f && ints[r + R_K] === c)) return r;
    }
  }

  private findOrInsert(f: number, c: number): number {
    const { table, ints, mask } = this;
    let s = this.slotOf(f, c);
    for (; ; s = (s + 1) & mask) {
      const r = table[s];
      if (r === EMPTY) break;
      if (ints[r + R_FEATURE] === f && ints[r + R_K] === c) return r;
    }
    if (this.count === this.capacity) {
      this.grow();
      return this.findOrInsert(f, c);
    }
    const r = this.count++ * REC;
    ints[r + R_K] = c;
    ints[r + R_FEATURE] = f;
    this.floats[r + R_W] = 0;
    this.floats[r + R_G] = 1;
    this.floats[r + R_Z] = 0;
    table[s] = r;
    return r;
  }

  /** Doubles the records and the table (rehashing every record). */
  private grow(): void {
    const capacity = this.capacity * 2;
    const buffer = new ArrayBuffer(capacity * REC * 4);
    const ints = new Int32Array(buffer);
    ints.set(this.ints);
    this.ints = ints;
    this.floats = new Float32Array(buffer);
    this.capacity = capacity;
    const table = new Int32Array(capacity * 2).fill(EMPTY);
    const mask = capacity * 2 - 1;
    this.table = table;
    this.mask = mask;
    for (let r = 0, end = this.count * REC; r < end; r += REC) {
      let s = this.slotOf(ints[r + R_FEATURE], ints[r + R_K]);
      while (table[s] !== EMPTY) s = (s + 1) & mask;
      table[s] = r;
    }
  }
}
