/**
 * Distance kernels over rows of a row-major Float32 matrix (rows start at
 * multiples of the stride; only the first `cols` entries are read).
 *
 * Every kernel sums in double precision, dimension by dimension in
 * ascending order, one accumulator per pair: each result is bit-identical
 * to the plain scalar loop (`s += (a[d] - b[d])^2` or `s += a[d] * b[d]`),
 * whichever kernel computed it. The speed comes from register blocking
 * (2 x 2 pairs share their loads), not from reassociating the sums.
 */

/** Squared Euclidean distance of rows at offsets a and b. */
export function l2Pair(data: Float32Array, a: number, b: number, cols: number): number {
  let s = 0;
  for (let d = 0; d < cols; d++) {
    const e = data[a + d] - data[b + d];
    s += e * e;
  }
  return s;
}

/** Inner product of rows at offsets a and b. */
export function ipPair(data: Float32Array, a: number, b: number, cols: number): number {
  let s = 0;
  for (let d = 0; d < cols; d++) s += data[a + d] * data[b + d];
  return s;
}

/**
 * Squared distances of rows a0, a1 of `rowData` to rows b0, b1 of `data`
 * into `out[0..3] = [a0b0, a0b1, a1b0, a1b1]` (the arrays may be the same).
 */
export function l2Block(
  rowData: Float32Array,
  a0: number,
  a1: number,
  data: Float32Array,
  b0: number,
  b1: number,
  cols: number,
  out: Float64Array,
): void {
  let s00 = 0;
  let s01 = 0;
  let s10 = 0;
  let s11 = 0;
  for (let d = 0; d < cols; d++) {
    const x0 = rowData[a0 + d];
    const x1 = rowData[a1 + d];
    const y0 = data[b0 + d];
    const y1 = data[b1 + d];
    const e00 = x0 - y0;
    const e01 = x0 - y1;
    const e10 = x1 - y0;
    const e11 = x1 - y1;
    s00 += e00 * e00;
    s01 += e01 * e01;
    s10 += e10 * e10;
    s11 += e11 * e11;
  }
  out[0] = s00;
  out[1] = s01;
  out[2] = s10;
  out[3] = s11;
}

/**
 * Inner products of rows a0, a1 of `rowData` with rows b0, b1 of `data`,
 * laid out as {@link l2Block}'s (the two arrays may be the same).
 */
export function ipBlock(
  rowData: Float32Array,
  a0: number,
  a1: number,
  data: Float32Array,
  b0: number,
  b1: number,
  cols: number,
  out: Float64Array,
): void {
  let s00 = 0;
  let s01 = 0;
  let s10 = 0;
  let s11 = 0;
  for (let d = 0; d < cols; d++) {
    const x0 = rowData[a0 + d];
    const x1 = rowData[a1 + d];
    const y0 = data[b0 + d];
    const y1 = data[b1 + d];
    s00 += x0 * y0;
    s01 += x0 * y1;
    s10 += x1 * y0;
    s11 += x1 * y1;
  }
  out[0] = s00;
  out[1] = s01;
  out[2] = s10;
  out[3] = s11;
}

/**
 * Squared distances of row a of `rowData` to rows b0..b3 of `data` into
 * `out[0..3]` (the two arrays may be the same).
 */
export function l2Row4(
  rowData: Float32Array,
  a: number,
  data: Float32Array,
  b0: number,
  b1: number,
  b2: number,
  b3: number,
  cols: number,
  out: Float64Array,
): void {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  for (let d = 0; d < cols; d++) {
    const x = rowData[a + d];
    const e0 = x - data[b0 + d];
    const e1 = x - data[b1 + d];
    const e2 = x - data[b2 + d];
    const e3 = x - data[b3 + d];
    s0 += e0 * e0;
    s1 += e1 * e1;
    s2 += e2 * e2;
    s3 += e3 * e3;
  }
  out[0] = s0;
  out[1] = s1;
  out[2] = s2;
  out[3] = s3;
}

/** Inner products of row a of `rowData` with rows b0..b3 of `data` into `out[0..3]`. */
export function ipRow4(
  rowData: Float32Array,
  a: number,
  data: Float32Array,
  b0: number,
  b1: number,
  b2: number,
  b3: number,
  cols: number,
  out: Float64Array,
): void {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  for (let d = 0; d < cols; d++) {
    const x = rowData[a + d];
    s0 += x * data[b0 + d];
    s1 += x * data[b1 + d];
    s2 += x * data[b2 + d];
    s3 += x * data[b3 + d];
  }
  out[0] = s0;
  out[1] = s1;
  out[2] = s2;
  out[3] = s3;
}
