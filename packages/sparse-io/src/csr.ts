import { badInput, badOption } from "./errors.js";
import type { CsrMatrix, LabelMatrix } from "./types.js";

/** The entries of one CSR row, as views into the matrix (no copy). */
export interface RowView {
  readonly indices: Int32Array;
  readonly values: Float32Array;
}

/** Views of row `r`'s indices and values. Allocates two views: not for inner loops. */
export function rowView(m: CsrMatrix, r: number): RowView {
  const from = m.indptr[r];
  const to = m.indptr[r + 1];
  return { indices: m.indices.subarray(from, to), values: m.values.subarray(from, to) };
}

/** Number of entries of row `r`. */
export function rowLength(m: LabelMatrix, r: number): number {
  return m.indptr[r + 1] - m.indptr[r];
}

/**
 * Scales every row of `m` to unit L2 norm, in place (sums in double
 * precision). Rows whose norm is 0 are left as they are. Returns `m`.
 */
export function normalizeRows<T extends CsrMatrix>(m: T): T {
  const { indptr, values } = m;
  for (let r = 0; r < m.rows; r++) {
    const from = indptr[r];
    const to = indptr[r + 1];
    let sum = 0;
    for (let p = from; p < to; p++) sum += values[p] * values[p];
    if (sum > 0 && sum !== 1) {
      const scale = 1 / Math.sqrt(sum);
      for (let p = from; p < to; p++) values[p] *= scale;
    }
  }
  return m;
}

/** Number of rows holding each column (e.g. label frequencies), as `Int32Array(cols)`. */
export function columnCounts(m: LabelMatrix): Int32Array {
  const counts = new Int32Array(m.cols);
  const { indices } = m;
  const nnz = m.indptr[m.rows];
  for (let p = 0; p < nnz; p++) counts[indices[p]]++;
  return counts;
}

/**
 * The transpose of a label matrix: row `c` of the result lists, ascending,
 * the rows of `m` that hold column `c` (an inverted index, e.g. label ->
 * rows).
 */
export function transposeLabels(m: LabelMatrix): LabelMatrix {
  const { indptr, indices } = transposeInto(m, null);
  return { rows: m.cols, cols: m.rows, indptr, indices };
}

/** The transpose of a CSR matrix, with values (e.g. feature -> (row, value)). */
export function transpose(m: CsrMatrix): CsrMatrix {
  const { indptr, indices, values } = transposeInto(m, m.values);
  return { rows: m.cols, cols: m.rows, indptr, indices, values: values! };
}

function transposeInto(m: LabelMatrix, sourceValues: Float32Array | null) {
  const counts = columnCounts(m);
  const indptr = new Int32Array(m.cols + 1);
  for (let c = 0; c < m.cols; c++) indptr[c + 1] = indptr[c] + counts[c];
  const nnz = indptr[m.cols];
  const indices = new Int32Array(nnz);
  const values = sourceValues ? new Float32Array(nnz) : null;
  const next = indptr.slice(0, m.cols);
  // Rows are visited in order, so every output row comes out sorted.
  for (let r = 0; r < m.rows; r++) {
    for (let p = m.indptr[r], end = m.indptr[r + 1]; p < end; p++) {
      const q = next[m.indices[p]]++;
      indices[q] = r;
      if (values) values[q] = sourceValues![p];
    }
  }
  return { indptr, indices, values };
}

/** A new matrix made of the given rows of `m`, in the given order (copies). */
export function selectRows(m: CsrMatrix, rows: ArrayLike<number>): CsrMatrix;
export function selectRows(m: LabelMatrix, rows: ArrayLike<number>): LabelMatrix;
export function selectRows(
  m: LabelMatrix & { values?: Float32Array },
  rows: ArrayLike<number>,
): CsrMatrix | LabelMatrix {
  const n = rows.length;
  const indptr = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) {
    const r = rows[i];
    if (!(r >= 0 && r < m.rows)) throw badOption(`row ${r} is out of range [0, ${m.rows})`);
    indptr[i + 1] = indptr[i] + m.indptr[r + 1] - m.indptr[r];
  }
  const indices = new Int32Array(indptr[n]);
  const values = m.values ? new Float32Array(indptr[n]) : undefined;
  for (let i = 0; i < n; i++) {
    const from = m.indptr[rows[i]];
    const to = m.indptr[rows[i] + 1];
    indices.set(m.indices.subarray(from, to), indptr[i]);
    if (values) values.set(m.values!.subarray(from, to), indptr[i]);
  }
  return values
    ? { rows: n, cols: m.cols, indptr, indices, values }
    : { rows: n, cols: m.cols, indptr, indices };
}

/**
 * Checks the CSR invariants (see {@link CsrMatrix}) and throws a
 * `AnnexmlError` `BAD_INPUT` naming the first violation. `name` prefixes the
 * message (e.g. "features"). O(nnz); call it at API boundaries, not in loops.
 */
export function validateCsr(m: LabelMatrix & { values?: Float32Array }, name = "matrix"): void {
  if (!(m.indptr instanceof Int32Array) || !(m.indices instanceof Int32Array)) {
    throw badInput(`${name}: indptr and indices must be Int32Arrays`);
  }
  if (!Number.isInteger(m.rows) || m.rows < 0 || !Number.isInteger(m.cols) || m.cols < 0) {
    throw badInput(
      `${name}: rows and cols must be non-negative integers, but are ${m.rows} and ${m.cols}`,
    );
  }
  if (m.indptr.length !== m.rows + 1) {
    throw badInput(
      `${name}: indptr must have rows + 1 = ${m.rows + 1} entries, but has ${m.indptr.length}`,
    );
  }
  if (m.indptr[0] !== 0 || m.indptr[m.rows] !== m.indices.length) {
    throw badInput(`${name}: indptr must start at 0 and end at nnz = ${m.indices.length}`);
  }
  if (m.values !== undefined && m.values.length !== m.indices.length) {
    throw badInput(
      `${name}: values must have nnz = ${m.indices.length} entries, but has ${m.values.length}`,
    );
  }
  for (let r = 0; r < m.rows; r++) {
    const from = m.indptr[r];
    const to = m.indptr[r + 1];
    if (to < from) throw badInput(`${name}: indptr decreases at row ${r}`);
    let previous = -1;
    for (let p = from; p < to; p++) {
      const c = m.indices[p];
      if (c <= previous || c >= m.cols) {
        throw badInput(
          `${name}: row ${r} must have sorted unique indices in [0, ${m.cols}), but has ${c} after ${previous}`,
        );
      }
      previous = c;
    }
  }
}
