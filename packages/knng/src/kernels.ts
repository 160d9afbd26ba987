/**
 * The scalar JavaScript distance kernels: the fallback of a
 * `VectorSpace` where WebAssembly SIMD is unavailable, the reference of
 * the SIMD kernel in the tests, and the small dot products of callers that
 * need no space (e.g. a tree's split planes).
 *
 * Each sums in double precision, dimension by dimension in ascending order,
 * one accumulator per pair: every result is bit-identical to the plain
 * scalar loop (`s += (x[d] - y[d])^2` or `s += x[d] * y[d]`), whichever
 * kernel computed it; the 4-row and 2 x 2 kernels only share loads.
 */

/** Squared Euclidean distance of `x[xo .. xo + len)` and `y[yo .. yo + len)`. */
export function squaredL2(
  x: Float32Array,
  xo: number,
  y: Float32Array,
  yo: number,
  len: number,
): number {
  let s = 0;
  for (let d = 0; d < len; d++) {
    const e = x[xo + d] - y[yo + d];
    s += e * e;
  }
  return s;
}

/** Inner product of `x[xo .. xo + len)` and `y[yo .. yo + len)`. */
export function innerProduct(
  x: Float32Array,
  xo: number,
  y: Float32Array,
  yo: number,
  len: number,
): number {
  let s = 0;
  for (let d = 0; d < len; d++) s += x[xo + d] * y[yo + d];
  return s;
}

/**
 * Squared distances of `x` at offset a to the rows of `data` at offsets
 * b0..b3, into `out[o .. o + 4)` (`out` rounds them when it is a
 * Float32Array).
 */
export function l2Row4(
  x: Float32Array,
  a: number,
  data: Float32Array,
  b0: number,
  b1: number,
  b2: number,
  b3: number,
  len: number,
  out: Float32Array | Float64Array,
  o: number,
): void {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  for (let d = 0; d < len; d++) {
    const v = x[a + d];
    const e0 = v - data[b0 + d];
    const e1 = v - data[b1 + d];
    const e2 = v - data[b2 + d];
    const e3 = v - data[b3 + d];
    s0 += e0 * e0;
    s1 += e1 * e1;
    s2 += e2 * e2;
    s3 += e3 * e3;
  }
  out[o] = s0;
  out[o + 1] = s1;
  out[o + 2] = s2;
  out[o + 3] = s3;
}

/** Inner products of `x` at offset a with the rows at b0..b3, laid out as {@link l2Row4}'s. */
export function ipRow4(
  x: Float32Array,
  a: number,
  data: Float32Array,
  b0: number,
  b1: number,
  b2: number,
  b3: number,
  len: number,
  out: Float32Array | Float64Array,
  o: number,
): void {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  for (let d = 0; d < len; d++) {
    const v = x[a + d];
    s0 += v * data[b0 + d];
    s1 += v * data[b1 + d];
    s2 += v * data[b2 + d];
    s3 += v * data[b3 + d];
  }
  out[o] = s0;
  out[o + 1] = s1;
  out[o + 2] = s2;
  out[o + 3] = s3;
}

/**
 * Squared distances of rows a0, a1 of `x` to rows b0, b1 of `y` into
 * `out[0..3] = [a0b0, a0b1, a1b0, a1b1]` (the arrays may be the same): the
 * 2 x 2 pairs share their loads.
 */
export function l2Block(
  x: Float32Array,
  a0: number,
  a1: number,
  y: Float32Array,
  b0: number,
  b1: number,
  len: number,
  out: Float64Array,
): void {
  let s00 = 0;
  let s01 = 0;
  let s10 = 0;
  let s11 = 0;
  for (let d = 0; d < len; d++) {
    const x0 = x[a0 + d];
    const x1 = x[a1 + d];
    const y0 = y[b0 + d];
    const y1 = y[b1 + d];
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

/** Inner products of rows a0, a1 of `x` with rows b0, b1 of `y`, laid out as {@link l2Block}'s. */
export function ipBlock(
  x: Float32Array,
  a0: number,
  a1: number,
  y: Float32Array,
  b0: number,
  b1: number,
  len: number,
  out: Float64Array,
): void {
  let s00 = 0;
  let s01 = 0;
  let s10 = 0;
  let s11 = 0;
  for (let d = 0; d < len; d++) {
    const x0 = x[a0 + d];
    const x1 = x[a1 + d];
    const y0 = y[b0 + d];
    const y1 = y[b1 + d];
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
