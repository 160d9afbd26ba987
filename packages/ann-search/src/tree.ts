import { squaredL2 } from "@annexml/knng";
import type { DenseMatrix } from "@annexml/sparse-io";
import { Rng } from "@annexml/sparse-io";

/**
 * A random-bisection tree in flat arrays (ALGORITHM.md section 4).
 *
 * Split nodes are numbered in pre-order (a child's number is larger than its
 * parent's; split 0 is the root). A child reference `c >= 0` is split node
 * `c`; `c < 0` is leaf `~c` (`-c - 1`). Leaves are numbered in depth-first
 * order, left before right, and leaf `l` holds the rows
 * `leafRows[leafPtr[l] .. leafPtr[l + 1] - 1]`; every row is in exactly one
 * leaf. With no split node the tree is the single leaf 0 (no leaf at all
 * when there are no rows).
 *
 * The descent goes to the child whose centre (mean of its rows) is nearer
 * to the query. Instead of both centres a split node stores the equivalent
 * plane between them, scaled to unit length:
 * `normal = (cR - cL) / |cR - cL|`, `offset = (|cR|^2 - |cL|^2) / (2 |cR - cL|)`;
 * the query goes left iff `<normal, q> < offset` (i.e. `|q - cL| < |q - cR|`;
 * a tie goes right, as in the original), and `<normal, q> - offset` is its
 * signed distance to the plane. That halves the storage and the work of the
 * descent. (Coinciding centres give a zero normal: everything goes right.)
 */
export interface BisectionTree {
  /** Two child references per split node. */
  readonly splitChildren: Int32Array;
  /** `dim` floats per split node: the unit normal from the left to the right centre. */
  readonly splitNormals: Float32Array;
  /** One per split node: the plane's offset along its normal. */
  readonly splitOffsets: Float32Array;
  /** Leaves + 1 offsets into `leafRows`, from 0 to the row count. */
  readonly leafPtr: Int32Array;
  /** The rows, grouped by leaf (a permutation of `0 .. rows - 1`). */
  readonly leafRows: Int32Array;
}

/** Rows a node's 2-means refinement iterates on (a strided sample of larger nodes). */
const REFINE_SAMPLE = 1024;

/**
 * Grows the tree of ALGORITHM.md section 4 over the rows of `vectors`. A
 * node of more than `leafSize` rows is split: pick a random row b0, a = the
 * row farthest from b0, b = the row farthest from a (first maximum in node
 * order wins); then
 * - with `splitIterations = 0` (the original): row v goes left iff
 *   `<b - a, v> - (|b|^2 - |a|^2) / 2 <= 0`, the plane bisecting a and b;
 * - with `splitIterations > 0`: a and b seed a 2-means (Lloyd) refinement of
 *   that many steps, on a strided sample of at most 1024 of the node's
 *   rows, and each row then goes to the nearer of the two refined centres.
 *   The partition then follows the rule the descent uses (nearer centre),
 *   and the planes follow the gaps between clusters instead of cutting
 *   through them: queries reach the leaves of their own cluster far more
 *   often.
 *
 * A split that leaves a side empty makes the node a leaf instead (e.g. a
 * node of identical rows, which may then exceed `leafSize`; or a node of
 * two rows, since b must differ from b0 and a, as in the original). Iterative, so
 * degenerate (deep) trees cannot overflow the call stack. Deterministic in
 * `seed`. O(rows * depth * dim) (the refinement adds at most
 * `splitIterations * min(node rows, 1024) * dim` per node).
 */
export function buildBisectionTree(
  vectors: DenseMatrix,
  leafSize: number,
  seed: number,
  splitIterations = 0,
): BisectionTree {
  return new TreeBuilder(vectors, leafSize, seed, splitIterations).build();
}

/** The state of one tree build: the row permutation, growable node arrays and scratch. */
class TreeBuilder {
  private readonly n: number;
  private readonly dim: number;
  private readonly stride: number;
  private readonly data: Float32Array;
  private readonly rng: Rng;
  private readonly perm: Int32Array;
  private readonly tmp: Int32Array;
  private splitCap: number;
  private children: Int32Array;
  private normals: Float32Array;
  private offsets: Float32Array;
  private splits = 0;
  private readonly leafStarts: Int32Array;
  private leaves = 0;
  // Centres of the current split (double precision) and the plane between them.
  private readonly centreL: Float64Array;
  private readonly centreR: Float64Array;
  private readonly w: Float64Array;
  private readonly side = new Uint8Array(REFINE_SAMPLE);

  constructor(
    vectors: DenseMatrix,
    private readonly leafSize: number,
    seed: number,
    private readonly splitIterations: number,
  ) {
    this.n = vectors.rows;
    this.dim = vectors.cols;
    this.stride = vectors.stride;
    this.data = vectors.data;
    this.rng = new Rng(seed);
    this.perm = new Int32Array(this.n);
    for (let i = 0; i < this.n; i++) this.perm[i] = i;
    this.tmp = new Int32Array(this.n);
    this.splitCap = Math.max(4, Math.ceil((2 * this.n) / Math.max(1, leafSize)));
    this.children = new Int32Array(2 * this.splitCap);
    this.normals = new Float32Array(this.splitCap * this.dim);
    this.offsets = new Float32Array(this.splitCap);
    this.leafStarts = new Int32Array(this.n + 1);
    this.centreL = new Float64Array(this.dim);
    this.centreR = new Float64Array(this.dim);
    this.w = new Float64Array(this.dim);
  }

  build(): BisectionTree {
    const n = this.n;
    // Pending nodes: (lo, hi, slot in `children` to patch, or -1 for the root).
    const stack = new Int32Array(3 * (n + 2));
    let sp = 0;
    if (n > 0) {
      stack[sp++] = 0;
      stack[sp++] = n;
      stack[sp++] = -1;
    }
    while (sp > 0) {
      const slot = stack[--sp];
      const hi = stack[--sp];
      const lo = stack[--sp];
      const m = hi - lo;
      const nl = m > this.leafSize ? this.split(lo, hi) : 0;
      if (nl === 0 || nl === m) {
        if (slot >= 0) this.children[slot] = ~this.leaves;
        this.leafStarts[this.leaves++] = lo;
        continue;
      }
      const id = this.addSplit(lo, lo + nl, hi);
      if (slot >= 0) this.children[slot] = id;
      // Right pushed first so the left subtree is finished first (leaf order = depth-first order).
      stack[sp++] = lo + nl;
      stack[sp++] = hi;
      stack[sp++] = 2 * id + 1;
      stack[sp++] = lo;
      stack[sp++] = lo + nl;
      stack[sp++] = 2 * id;
    }
    this.leafStarts[this.leaves] = n;
    const { splits, dim } = this;
    return {
      splitChildren: this.children.slice(0, 2 * splits),
      splitNormals: this.normals.slice(0, splits * dim),
      splitOffsets: this.offsets.slice(0, splits),
      leafPtr: this.leafStarts.slice(0, this.leaves + 1),
      leafRows: this.perm,
    };
  }

  /**
   * Partitions perm[lo, hi) in place (stable) into left then right rows;
   * returns the left count.
   */
  private split(lo: number, hi: number): number {
    const { perm, data, stride, dim, centreL, centreR } = this;
    const m = hi - lo;
    const b0 = perm[lo + this.rng.nextInt(m)];
    const a = this.farthest(lo, hi, b0, b0, b0);
    const b = this.farthest(lo, hi, a, b0, a);
    for (let j = 0; j < dim; j++) {
      centreL[j] = data[a * stride + j];
      centreR[j] = data[b * stride + j];
    }
    if (this.splitIterations > 0) this.refine(lo, hi);
    // Left iff <w, v> < offset (nearer the left centre); the original's
    // a-b bisector sends ties left instead.
    const offset = this.plane();
    const tiesLeft = this.splitIterations === 0;
    const { w, tmp } = this;
    let nl = 0;
    let nr = 0;
    for (let p = lo; p < hi; p++) {
      const r = perm[p];
      const base = r * stride;
      let z = 0;
      for (let j = 0; j < dim; j++) z += w[j] * data[base + j];
      if (z < offset || (tiesLeft && z === offset)) perm[lo + nl++] = r;
      else tmp[nr++] = r;
    }
    for (let t = 0; t < nr; t++) perm[lo + nl + t] = tmp[t];
    return nl;
  }

  /**
   * The row of perm[lo, hi) farthest from row `from`, skipping rows `skip1`
   * and `skip2`; `from` itself when all are at distance 0.
   */
  private farthest(lo: number, hi: number, from: number, skip1: number, skip2: number): number {
    const { perm, data, stride, dim } = this;
    let best = 0;
    let arg = from;
    for (let p = lo; p < hi; p++) {
      const r = perm[p];
      if (r === skip1 || r === skip2) continue;
      const d = squaredL2(data, from * stride, data, r * stride, dim);
      if (d > best) {
        best = d;
        arg = r;
      }
    }
    return arg;
  }

  /**
   * Lloyd steps on a strided sample of perm[lo, hi): assign each sampled
   * row to the nearer centre, move the centres to the means. Stops early
   * when no sampled row changes side, and keeps the previous centres when
   * a side would become empty.
   */
  private refine(lo: number, hi: number): void {
    const { perm, data, stride, dim, centreL, centreR, w, side } = this;
    const m = hi - lo;
    const step = Math.max(1, Math.floor(m / REFINE_SAMPLE));
    const samples = Math.min(REFINE_SAMPLE, Math.floor((m + step - 1) / step));
    side.fill(2, 0, samples);
    for (let it = 0; it < this.splitIterations; it++) {
      const offset = this.plane();
      let nl = 0;
      let changed = 0;
      for (let s = 0; s < samples; s++) {
        const base = perm[lo + s * step] * stride;
        let z = 0;
        for (let j = 0; j < dim; j++) z += w[j] * data[base + j];
        const left = z < offset ? 1 : 0;
        nl += left;
        if (side[s] !== left) changed++;
        side[s] = left;
      }
      if (changed === 0 || nl === 0 || nl === samples) break;
      centreL.fill(0);
      centreR.fill(0);
      for (let s = 0; s < samples; s++) {
        const base = perm[lo + s * step] * stride;
        const c = side[s] === 1 ? centreL : centreR;
        for (let j = 0; j < dim; j++) c[j] += data[base + j];
      }
      const il = 1 / nl;
      const ir = 1 / (samples - nl);
      for (let j = 0; j < dim; j++) {
        centreL[j] *= il;
        centreR[j] *= ir;
      }
    }
  }

  /** Sets w = cR - cL; returns (|cR|^2 - |cL|^2) / 2, so `<w, v> < offset` iff v is nearer cL. */
  private plane(): number {
    const { centreL, centreR, w, dim } = this;
    let sqL = 0;
    let sqR = 0;
    for (let j = 0; j < dim; j++) {
      sqL += centreL[j] * centreL[j];
      sqR += centreR[j] * centreR[j];
      w[j] = centreR[j] - centreL[j];
    }
    return (sqR - sqL) / 2;
  }

  /** Records a split node for the children perm[lo, mid) and perm[mid, hi): its descent plane from their means. */
  private addSplit(lo: number, mid: number, hi: number): number {
    const { perm, data, stride, dim, centreL, centreR, w } = this;
    if (this.splits === this.splitCap) this.grow();
    centreL.fill(0);
    centreR.fill(0);
    for (let p = lo; p < hi; p++) {
      const base = perm[p] * stride;
      const c = p < mid ? centreL : centreR;
      for (let j = 0; j < dim; j++) c[j] += data[base + j];
    }
    const il = 1 / (mid - lo);
    const ir = 1 / (hi - mid);
    for (let j = 0; j < dim; j++) {
      centreL[j] *= il;
      centreR[j] *= ir;
    }
    const offset = this.plane();
    let sq = 0;
    for (let j = 0; j < dim; j++) sq += w[j] * w[j];
    const scale = sq > 0 ? 1 / Math.sqrt(sq) : 0;
    const id = this.splits++;
    for (let j = 0; j < dim; j++) this.normals[id * dim + j] = w[j] * scale;
    this.offsets[id] = offset * scale;
    return id;
  }

  private grow(): void {
    this.splitCap *= 2;
    const c = new Int32Array(2 * this.splitCap);
    c.set(this.children);
    this.children = c;
    const nv = new Float32Array(this.splitCap * this.dim);
    nv.set(this.normals);
    this.normals = nv;
    const o = new Float32Array(this.splitCap);
    o.set(this.offsets);
    this.offsets = o;
  }
}
