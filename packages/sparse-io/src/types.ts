/**
 * The one vocabulary of data types shared by every AnnexML package.
 *
 * All matrices are flat typed arrays; nothing in a data path is an array of
 * objects. Indices are 32-bit: a matrix holds at most 2^31 - 1 non-zeros.
 */

/**
 * A sparse matrix in compressed sparse row (CSR) form.
 *
 * Row `r` holds the entries `indices[p], values[p]` for
 * `p = indptr[r] .. indptr[r + 1] - 1`.
 *
 * Invariants: `indptr.length === rows + 1`, `indptr[0] === 0`, `indptr` is
 * non-decreasing, `indptr[rows] === indices.length === values.length`, and the
 * indices of every row are sorted ascending and unique, each in `[0, cols)`.
 */
export interface CsrMatrix {
  readonly rows: number;
  readonly cols: number;
  readonly indptr: Int32Array;
  readonly indices: Int32Array;
  readonly values: Float32Array;
}

/**
 * Label sets (or any binary sparse pattern) in the CSR shape without values:
 * row `r` holds the labels `indices[indptr[r] .. indptr[r + 1] - 1]`, sorted
 * ascending and unique, each in `[0, cols)`. A `CsrMatrix` is also a
 * `LabelMatrix` (its values are then ignored).
 */
export interface LabelMatrix {
  readonly rows: number;
  readonly cols: number;
  readonly indptr: Int32Array;
  readonly indices: Int32Array;
}

/**
 * A dense row-major matrix. Row `r` starts at `data[r * stride]` and holds
 * `cols` values; `stride >= cols` leaves padding (zeros) at the end of every
 * row so kernels can work on aligned widths (a multiple of 4 or 8 floats).
 */
export interface DenseMatrix {
  readonly rows: number;
  readonly cols: number;
  readonly stride: number;
  readonly data: Float32Array;
}

/**
 * A batch of k-nearest-neighbour lists, one fixed-size record per row:
 * neighbours of row `r` are `ids[r * k + j]`, `scores[r * k + j]` for
 * `j = 0 .. k - 1`, best first. A missing neighbour has id `-1`. What a score
 * means (similarity, distance) is documented by the producer.
 */
export interface KnnResult {
  readonly rows: number;
  readonly k: number;
  readonly ids: Int32Array;
  readonly scores: Float32Array;
}

/** The `N F L` header line of an Extreme Classification Repository file. */
export interface DatasetHeader {
  readonly rows: number;
  readonly features: number;
  readonly labels: number;
}

/** Non-fatal findings of a parse, summarised instead of printed per line. */
export interface ParseWarnings {
  /** Label ids repeated within one row (merged; each extra occurrence counts once). */
  duplicateLabels: number;
  /** 1-based line of the first duplicated label, or 0. */
  firstDuplicateLabelLine: number;
  /** Feature ids at or above the header's feature count. */
  featuresBeyondHeader: number;
  /** Label ids at or above the header's label count. */
  labelsBeyondHeader: number;
}

/** A multi-label dataset: one feature row and one label set per input line. */
export interface Dataset {
  /** Feature rows exactly as read (not normalised). */
  readonly features: CsrMatrix;
  /** Label sets, sorted and de-duplicated. */
  readonly labels: LabelMatrix;
  /** The header line, when the file had one. */
  readonly header: DatasetHeader | null;
  /** Largest feature id seen, or -1 when no row has a feature. */
  readonly maxFeatureId: number;
  /** Largest label id seen, or -1 when no row has a label. */
  readonly maxLabelId: number;
  readonly warnings: ParseWarnings;
  /** Where the data came from (a path, `-` for stdin, or a caller's name). */
  readonly source: string;
}
