import { clusteredUnitVectors as clustered } from "@annexml/knng";
import type { DenseMatrix } from "@annexml/sparse-io";

/** Options of {@link clusteredUnitVectors}. */
export interface ClusteredOptions {
  rows: number;
  dim: number;
  centres: number;
  /** Standard deviation of the per-coordinate noise added to a centre before normalising. */
  noise: number;
  seed: number;
  /** Row stride (>= dim); default dim rounded up to a multiple of 8. */
  stride?: number;
  /** Draw the centres from this seed instead of `seed` (so queries share the index's centres). */
  centreSeed?: number;
}

/**
 * The tests' and benchmark's vectors: `@annexml/knng`'s
 * `clusteredUnitVectors` with centres uniform on the sphere (no themes) and
 * the noise given per coordinate. Deterministic in `seed` / `centreSeed`.
 */
export function clusteredUnitVectors(options: ClusteredOptions): DenseMatrix {
  const { rows, dim, centres, noise, seed, stride, centreSeed } = options;
  return clustered({
    rows,
    cols: dim,
    stride,
    centres,
    themes: 0,
    rowNoise: noise,
    seed,
    centreSeed,
  });
}
