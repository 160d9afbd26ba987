import { badOption, type DenseMatrix, Rng } from "@annexml/sparse-io";

/** Options of {@link clusteredUnitVectors}. */
export interface ClusteredVectorsOptions {
  rows: number;
  /** Dimension. Default 50. */
  cols?: number;
  /** Row stride, `>= cols` (padding is zero). Default `cols` rounded up to a multiple of 8. */
  stride?: number;
  /** Number of cluster centres. Default 300. */
  centres?: number;
  /**
   * Number of themes the centres gather around (0: centres uniform on the
   * sphere). Default 20.
   */
  themes?: number;
  /** Spread of the centres around their theme (noise norm relative to 1). Default 1. */
  centreSpread?: number;
  /** Spread of the rows around their centre (noise norm relative to 1). Default 0.6. */
  spread?: number;
  /**
   * Standard deviation of the noise per coordinate, instead of `spread`
   * (which sets it to `spread / sqrt(cols)`).
   */
  rowNoise?: number;
  /** Seed of the rows (which centre, and the noise). Default 1. */
  seed?: number;
  /**
   * Seed of the themes and centres. Default `seed`. Two matrices with the
   * same `centreSeed` and different `seed`s share their centres (e.g. the
   * queries and the vectors of an index).
   */
  centreSeed?: number;
}

/**
 * Synthetic unit vectors shaped like learned embeddings: `centres` cluster
 * centres (themselves drawn around `themes` theme directions, or uniformly
 * when `themes` is 0), and every row `normalise(centre + spread * g /
 * sqrt(cols))` for a random centre and a standard Gaussian g. Deterministic
 * by `seed` and `centreSeed`. Used by the tests and benchmarks of the dense
 * graphs and of `@annexml/ann-search`.
 */
export function clusteredUnitVectors(options: ClusteredVectorsOptions): DenseMatrix {
  const {
    rows,
    cols = 50,
    centres = 300,
    themes = 20,
    centreSpread = 1,
    spread = 0.6,
    seed = 1,
  } = options;
  const stride = options.stride ?? Math.ceil(cols / 8) * 8;
  if (!(Number.isSafeInteger(rows) && rows >= 0)) {
    throw badOption(`rows must be a non-negative integer, but is ${rows}`);
  }
  if (!(Number.isSafeInteger(cols) && cols > 0 && stride >= cols)) {
    throw badOption(`cols must be positive and stride >= cols, but are ${cols} and ${stride}`);
  }
  if (!(Number.isSafeInteger(centres) && centres > 0)) {
    throw badOption(`centres must be a positive integer, but is ${centres}`);
  }
  const crng = new Rng(options.centreSeed ?? seed);
  const rng = new Rng(seed ^ 0x9e3779b9);
  const scale = 1 / Math.sqrt(cols);
  const unit = (v: Float64Array) => {
    let s = 0;
    for (let d = 0; d < cols; d++) s += v[d] * v[d];
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let d = 0; d < cols; d++) v[d] *= inv;
    return v;
  };
  const themeVecs = new Float64Array(Math.max(themes, 1) * cols);
  for (let t = 0; t < themes; t++) {
    for (let d = 0; d < cols; d++) themeVecs[t * cols + d] = crng.nextGaussian();
    unit(themeVecs.subarray(t * cols, (t + 1) * cols));
  }
  const centreVecs = new Float64Array(centres * cols);
  for (let c = 0; c < centres; c++) {
    const v = centreVecs.subarray(c * cols, (c + 1) * cols);
    const t = themes > 0 ? crng.nextInt(themes) : -1;
    for (let d = 0; d < cols; d++) {
      v[d] =
        t >= 0
          ? themeVecs[t * cols + d] + centreSpread * scale * crng.nextGaussian()
          : crng.nextGaussian();
    }
    unit(v);
  }
  const data = new Float32Array(rows * stride);
  const v = new Float64Array(cols);
  const sigma = options.rowNoise ?? spread * scale;
  for (let i = 0; i < rows; i++) {
    const c = rng.nextInt(centres);
    for (let d = 0; d < cols; d++) v[d] = centreVecs[c * cols + d] + sigma * rng.nextGaussian();
    unit(v);
    for (let d = 0; d < cols; d++) data[i * stride + d] = v[d];
  }
  return { rows, cols, stride, data };
}
