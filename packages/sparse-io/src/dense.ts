import { badInput } from "./errors.js";
import type { DenseMatrix } from "./types.js";

/**
 * Checks the shape of a {@link DenseMatrix}: `rows`, `cols` non-negative
 * integers, `stride >= cols`, and a `Float32Array` holding `rows` rows of
 * `stride` floats (the last row needs only `cols`). Throws an
 * `AnnexmlError` `BAD_INPUT` naming the bad value; `name` prefixes the message (e.g.
 * "vectors"). O(1): the values are not read.
 */
export function validateDense(m: DenseMatrix, name = "matrix"): void {
  if (m === null || typeof m !== "object") {
    throw badInput(`${name} must be a DenseMatrix {rows, cols, stride, data}`);
  }
  if (!(m.data instanceof Float32Array)) throw badInput(`${name}.data must be a Float32Array`);
  for (const key of ["rows", "cols"] as const) {
    if (!(Number.isSafeInteger(m[key]) && m[key] >= 0)) {
      throw badInput(`${name}.${key} must be a non-negative integer, but is ${String(m[key])}`);
    }
  }
  if (!(Number.isSafeInteger(m.stride) && m.stride >= m.cols)) {
    throw badInput(
      `${name}.stride must be an integer >= cols = ${m.cols}, but is ${String(m.stride)}`,
    );
  }
  const need = m.rows === 0 ? 0 : (m.rows - 1) * m.stride + m.cols;
  if (m.data.length < need) {
    throw badInput(
      `${name}.data must hold at least ${need} floats for ${m.rows} rows of stride ${m.stride}, but holds ${m.data.length}`,
    );
  }
}
