/**
 * The distance kernels of the indexes. Both read `len` floats of `a` from
 * `aOff` and of `b` from `bOff`; `len` is chosen once per index (the
 * dimension rounded up to a multiple of 4 when the rows' zero padding
 * allows, see {@link kernelWidth}), so the 8-wide unrolled body runs with at
 * most one 4-wide step and no scalar tail. Four independent accumulators
 * keep the floating-point adds from serialising. Sums are in double
 * precision.
 */

/** Squared Euclidean distance `sum (a_i - b_i)^2` over `len` floats. */
export function squaredDistance(
  a: Float32Array,
  aOff: number,
  b: Float32Array,
  bOff: number,
  len: number,
): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  const end8 = len - 7;
  for (; i < end8; i += 8) {
    const p = aOff + i;
    const q = bOff + i;
    const x0 = a[p] - b[q];
    const x1 = a[p + 1] - b[q + 1];
    const x2 = a[p + 2] - b[q + 2];
    const x3 = a[p + 3] - b[q + 3];
    const x4 = a[p + 4] - b[q + 4];
    const x5 = a[p + 5] - b[q + 5];
    const x6 = a[p + 6] - b[q + 6];
    const x7 = a[p + 7] - b[q + 7];
    s0 += x0 * x0 + x4 * x4;
    s1 += x1 * x1 + x5 * x5;
    s2 += x2 * x2 + x6 * x6;
    s3 += x3 * x3 + x7 * x7;
  }
  if (i + 3 < len) {
    const p = aOff + i;
    const q = bOff + i;
    const x0 = a[p] - b[q];
    const x1 = a[p + 1] - b[q + 1];
    const x2 = a[p + 2] - b[q + 2];
    const x3 = a[p + 3] - b[q + 3];
    s0 += x0 * x0;
    s1 += x1 * x1;
    s2 += x2 * x2;
    s3 += x3 * x3;
    i += 4;
  }
  for (; i < len; i++) {
    const x = a[aOff + i] - b[bOff + i];
    s0 += x * x;
  }
  return s0 + s1 + s2 + s3;
}

/** Inner product `sum a_i b_i` over `len` floats (same layout as {@link squaredDistance}). */
export function innerProduct(
  a: Float32Array,
  aOff: number,
  b: Float32Array,
  bOff: number,
  len: number,
): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  const end8 = len - 7;
  for (; i < end8; i += 8) {
    const p = aOff + i;
    const q = bOff + i;
    s0 += a[p] * b[q] + a[p + 4] * b[q + 4];
    s1 += a[p + 1] * b[q + 1] + a[p + 5] * b[q + 5];
    s2 += a[p + 2] * b[q + 2] + a[p + 6] * b[q + 6];
    s3 += a[p + 3] * b[q + 3] + a[p + 7] * b[q + 7];
  }
  if (i + 3 < len) {
    const p = aOff + i;
    const q = bOff + i;
    s0 += a[p] * b[q];
    s1 += a[p + 1] * b[q + 1];
    s2 += a[p + 2] * b[q + 2];
    s3 += a[p + 3] * b[q + 3];
    i += 4;
  }
  for (; i < len; i++) s0 += a[aOff + i] * b[bOff + i];
  return s0 + s1 + s2 + s3;
}

/**
 * The number of floats the kernels read per row: `dim` rounded up to a
 * multiple of 4 when that fits in `stride` and the padding of every row is
 * zero (so the extra terms add nothing), else `dim` itself.
 */
export function kernelWidth(data: Float32Array, rows: number, dim: number, stride: number): number {
  const padded = (dim + 3) & ~3;
  if (padded === dim || padded > stride) return dim;
  for (let r = 0; r < rows; r++) {
    const base = r * stride;
    for (let j = dim; j < padded; j++) if (data[base + j] !== 0) return dim;
  }
  return padded;
}
