import { type DenseMatrix, Rng } from "@annexml/sparse-io";

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
  /** Default 1. */
  seed?: number;
}

/**
 * Synthetic unit vectors shaped like learned embeddings: `centres` cluster
 * centres (themselves drawn around `themes` theme directions, or uniformly
 * when `themes` is 0), and every row `normalise(centre + spread * g /
 * sqrt(cols))` for a random centre and a standard Gaussian g. Deterministic
 * by seed. Used by the tests and benchmarks of the dense graphs.
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
    throw new RangeError(`rows must be a non-negative integer, but is ${rows}`);
  }
  if (!(Number.isSafeInteger(cols) && cols > 0 && stride >= cols)) {
    throw new RangeError(`cols must be positive and stride >= cols, but are ${cols} and ${stride}`);
  }
  if (!(Number.isSafeInteger(centres) && centres > 0)) {
    throw new RangeError(`centres must be a positive integer, but is ${centres}`);
  }
  const rng = new Rng(seed);
  const gauss = () => {
    const u = rng.nextFloat() || 2 ** -32;
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.nextFloat());
  };
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
    for (let d = 0; d < cols; d++) themeVecs[t * cols + d] = gauss();
    unit(themeVecs.subarray(t * cols, (t + 1) * cols));
  }
  const centreVecs = new Float64Array(centres * cols);
  for (let c = 0; c < centres; c++) {
    const v = centreVecs.subarray(c * cols, (c + 1) * cols);
    const t = themes > 0 ? rng.nextInt(themes) : -1;
    for (let d = 0; d < cols; d++) {
      v[d] = t >= 0 ? themeVecs[t * cols + d] + centreSpread * scale * gauss() : gauss();
    }
    unit(v);
  }
  const data = new Float32Array(rows * stride);
  const v = new Float64Array(cols);
  for (let i = 0; i < rows; i++) {
    const c = rng.nextInt(centres);
    for (let d = 0; d < cols; d++) v[d] = centreVecs[c * cols + d] + spread * scale * gauss();
    unit(v);
    for (let d = 0; d < cols; d++) data[i * stride + d] = v[d];
  }
  return { rows, cols, stride, data };
}
