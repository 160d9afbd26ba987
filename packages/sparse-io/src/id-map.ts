import { badInput } from "./errors.js";
import type { LabelMatrix } from "./types.js";

/**
 * Lookup tables are dense (one slot per id up to the largest) only while
 * that costs at most this many slots per id in use plus a constant: memory
 * stays proportional to the ids used, whatever their values.
 */
const DENSE_SLOTS_PER_ID = 4;
const DENSE_SLOTS_BASE = 1 << 16;

/**
 * The column ids a matrix uses, ascending and unique (a row's indices must
 * be sorted and unique; the matrix is not modified). Memory is
 * O(non-zeros + distinct ids), or O(cols) when `cols` is small next to the
 * non-zeros: never driven by one huge id alone.
 */
export function usedColumns(m: LabelMatrix): Int32Array {
  const nnz = m.indptr[m.rows];
  const indices = m.indices;
  if (m.cols <= DENSE_SLOTS_PER_ID * nnz + DENSE_SLOTS_BASE) {
    const seen = new Uint8Array(m.cols);
    let distinct = 0;
    for (let p = 0; p < nnz; p++) {
      const c = indices[p];
      if (seen[c] === 0) {
        seen[c] = 1;
        distinct++;
      }
    }
    const out = new Int32Array(distinct);
    for (let c = 0, j = 0; j < distinct; c++) if (seen[c]) out[j++] = c;
    return out;
  }
  const sorted = indices.slice(0, nnz).sort();
  let distinct = 0;
  for (let p = 0; p < nnz; p++) {
    if (p === 0 || sorted[p] !== sorted[p - 1]) sorted[distinct++] = sorted[p];
  }
  return sorted.slice(0, distinct);
}

/**
 * Maps original ids (any non-negative int32) to dense ids `0 .. size - 1`
 * given the ascending list of ids in use, and back. A dense table when the
 * largest id is small next to the number of ids, a binary search otherwise;
 * both keep the order, so a sorted row stays sorted.
 */
export class IdLookup {
  /** `ids[dense]` is the original id. Ascending, unique, non-negative. */
  readonly ids: Int32Array;
  private readonly table: Int32Array | null;

  constructor(ids: Int32Array) {
    for (let i = 0; i < ids.length; i++) {
      if (!(ids[i] >= 0) || (i > 0 && ids[i] <= ids[i - 1])) {
        throw badInput(`ids must be ascending, unique and non-negative, but has ${ids[i]} at ${i}`);
      }
    }
    this.ids = ids;
    const max = ids.length ? ids[ids.length - 1] : -1;
    if (max + 1 <= DENSE_SLOTS_PER_ID * ids.length + DENSE_SLOTS_BASE) {
      const table = new Int32Array(max + 1).fill(-1);
      for (let i = 0; i < ids.length; i++) table[ids[i]] = i;
      this.table = table;
    } else {
      this.table = null;
    }
  }

  /** Number of ids in use. */
  get size(): number {
    return this.ids.length;
  }

  /** The dense id of original id `id`, or -1 when it is not in use. */
  dense(id: number): number {
    const table = this.table;
    if (table) return id >= 0 && id < table.length ? table[id] : -1;
    const ids = this.ids;
    let lo = 0;
    let hi = ids.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = ids[mid];
      if (v < id) lo = mid + 1;
      else if (v > id) hi = mid - 1;
      else return mid;
    }
    return -1;
  }
}

/**
 * Renumbers the columns of `m` to the dense ids of the columns it uses
 * (ascending, so every row stays sorted): returns the renumbered matrix and
 * `ids` (`ids[dense]` = original column), or `ids: null` and `m` itself
 * when every column in `[0, cols)` is used already. With `inPlace` the
 * indices are overwritten; otherwise a renumbered copy is made and `m` is
 * left as it was. Row order, values and indptr are shared with `m`.
 */
export function compactColumns<T extends LabelMatrix>(
  m: T,
  options: { inPlace?: boolean } = {},
): { matrix: T; ids: Int32Array | null } {
  const ids = usedColumns(m);
  if (ids.length === m.cols) return { matrix: m, ids: null };
  const lookup = new IdLookup(ids);
  const nnz = m.indptr[m.rows];
  const out = options.inPlace ? m.indices : new Int32Array(m.indices.length);
  for (let p = 0; p < nnz; p++) out[p] = lookup.dense(m.indices[p]);
  return { matrix: { ...m, cols: ids.length, indices: out }, ids };
}
