// Shared fixtures of the test files (not exported by the package).
import { type CsrMatrix, type Dataset, normalizeRows, Rng, readDataset } from "@annexml/sparse-io";

const cache = new Map<string, Promise<Dataset>>();

/** A bundled dataset (data/<name>/train.txt) with L2-normalised feature rows, read once per test file. */
export function bundledTrain(name: "bibtex" | "delicious"): Promise<Dataset> {
  let p = cache.get(name);
  if (p === undefined) {
    const path = new URL(`../../../data/${name}/train.txt`, import.meta.url).pathname;
    p = readDataset(path).then((d) => {
      normalizeRows(d.features);
      return d;
    });
    cache.set(name, p);
  }
  return p;
}

/** A random CSR matrix: every row gets up to `maxNnz` distinct features, values in (-1, 1) or (0, 1). */
export function randomCsr(
  rng: Rng,
  rows: number,
  cols: number,
  maxNnz: number,
  options: { positive?: boolean; normalise?: boolean; allowEmpty?: boolean } = {},
): CsrMatrix {
  const indptr = new Int32Array(rows + 1);
  const idx: number[] = [];
  const val: number[] = [];
  for (let r = 0; r < rows; r++) {
    const want = options.allowEmpty ? rng.nextInt(maxNnz + 1) : 1 + rng.nextInt(maxNnz);
    const set = new Set<number>();
    while (set.size < Math.min(want, cols)) set.add(rng.nextInt(cols));
    const sorted = [...set].sort((a, b) => a - b);
    for (const f of sorted) {
      idx.push(f);
      const v = options.positive ? 0.05 + rng.nextFloat() : rng.nextFloat() * 2 - 1;
      val.push(v === 0 ? 0.5 : v);
    }
    indptr[r + 1] = idx.length;
  }
  const m = { rows, cols, indptr, indices: Int32Array.from(idx), values: Float32Array.from(val) };
  return options.normalise === false ? m : normalizeRows(m);
}

/** Deep copy of a CSR matrix (to check that inputs are not mutated). */
export function cloneCsr(m: CsrMatrix): CsrMatrix {
  return {
    rows: m.rows,
    cols: m.cols,
    indptr: m.indptr.slice(),
    indices: m.indices.slice(),
    values: m.values.slice(),
  };
}

export { Rng };
