import type { DenseMatrix } from "@annexml/sparse-io";
import { Rng } from "@annexml/sparse-io";

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

/** A standard normal deviate (Box–Muller; one of the pair is dropped for simplicity). */
function gaussian(rng: Rng): number {
  let u = rng.nextFloat();
  while (u === 0) u = rng.nextFloat();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.nextFloat());
}

/**
 * Unit vectors drawn around random unit centres (centre + Gaussian noise,
 * then normalised): the shape of learned embeddings, used by tests and the
 * benchmark. Deterministic in `seed` / `centreSeed`.
 */
export function clusteredUnitVectors(options: ClusteredOptions): DenseMatrix {
  const { rows, dim, centres, noise, seed } = options;
  const stride = options.stride ?? Math.ceil(dim / 8) * 8;
  const crng = new Rng(options.centreSeed ?? seed);
  const c = new Float64Array(centres * dim);
  for (let j = 0; j < centres; j++) {
    let s = 0;
    for (let t = 0; t < dim; t++) {
      const g = gaussian(crng);
      c[j * dim + t] = g;
      s += g * g;
    }
    const inv = 1 / Math.sqrt(s);
    for (let t = 0; t < dim; t++) c[j * dim + t] *= inv;
  }
  const rng = new Rng(seed ^ 0x9e3779b9);
  const data = new Float32Array(rows * stride);
  const tmp = new Float64Array(dim);
  for (let i = 0; i < rows; i++) {
    const j = rng.nextInt(centres);
    let s = 0;
    for (let t = 0; t < dim; t++) {
      const v = c[j * dim + t] + noise * gaussian(rng);
      tmp[t] = v;
      s += v * v;
    }
    const inv = 1 / Math.sqrt(s);
    for (let t = 0; t < dim; t++) data[i * stride + t] = tmp[t] * inv;
  }
  return { rows, cols: dim, stride, data };
}
