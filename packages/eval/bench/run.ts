/**
 * Evaluation throughput on the bibtex fixtures (2515 test rows, 10
 * predictions each): the package's evaluate / evaluatePropensityScored
 * against the naive port of the scripts (`naive.ts`), plus reading the
 * result file. Checks the printed metrics against the reference files first.
 *
 *   pnpm --filter @annexml/eval bench
 *
 * Prints a table, then one JSON object of the headline figures as the last line.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type KnnResult, type LabelMatrix, readDataset, readResultFile } from "@annexml/sparse-io";
import {
  evaluate,
  evaluatePropensityScored,
  formatMetrics,
  inversePropensities,
} from "../src/index.js";
import { naiveEvaluate } from "./naive.js";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const RESULT = here("../fixtures/bibtex/result-graph.txt");
const TRAIN = here("../../../data/bibtex/train.txt");
/** Copies of the fixture rows in the large case, for a steady-state figure. */
const TILES = 40;
const MIN_MS = 1000;

/** Runs `fn` repeatedly for at least MIN_MS after a warm-up; returns ms per call. */
function time(fn: () => unknown): number {
  const warmUntil = performance.now() + 200;
  while (performance.now() < warmUntil) fn();
  let calls = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    fn();
    calls++;
    elapsed = performance.now() - start;
  } while (elapsed < MIN_MS);
  return elapsed / calls;
}

/** The rows of `truth` and `predictions` repeated `times` times. */
function tile(truth: LabelMatrix, predictions: KnnResult, times: number) {
  const nnz = truth.indptr[truth.rows];
  const indptr = new Int32Array(truth.rows * times + 1);
  const indices = new Int32Array(nnz * times);
  const ids = new Int32Array(predictions.ids.length * times);
  const scores = new Float32Array(predictions.scores.length * times);
  for (let t = 0; t < times; t++) {
    for (let r = 0; r < truth.rows; r++)
      indptr[t * truth.rows + r + 1] = t * nnz + truth.indptr[r + 1];
    indices.set(truth.indices.subarray(0, nnz), t * nnz);
    ids.set(predictions.ids, t * predictions.ids.length);
    scores.set(predictions.scores, t * predictions.scores.length);
  }
  return {
    truth: { rows: truth.rows * times, cols: truth.cols, indptr, indices },
    predictions: { rows: predictions.rows * times, k: predictions.k, ids, scores },
  };
}

const file = await readResultFile(RESULT);
const train = await readDataset(TRAIN);
const propensities = inversePropensities(train.labels);
const rows = file.truth.rows;

const matches =
  formatMetrics(evaluate(file.truth, file.predictions)) ===
    readFileSync(RESULT.replace(/\.txt$/, ".metrics.txt"), "utf8") &&
  formatMetrics(evaluatePropensityScored(file.truth, file.predictions, propensities)) ===
    readFileSync(RESULT.replace(/\.txt$/, ".psmetrics.txt"), "utf8");

const big = tile(file.truth, file.predictions, TILES);
const cases: { name: string; rows: number; ms: number }[] = [];
const add = (name: string, n: number, fn: () => unknown) =>
  cases.push({ name, rows: n, ms: time(fn) });

{
  // Async, so timed by hand: one read at a time.
  const start = performance.now();
  let calls = 0;
  while (performance.now() - start < MIN_MS) {
    await readResultFile(RESULT);
    calls++;
  }
  cases.push({
    name: "readResultFile (parse + pad)",
    rows,
    ms: (performance.now() - start) / calls,
  });
}
add("inversePropensities (train labels)", train.labels.rows, () =>
  inversePropensities(train.labels),
);
add("evaluate, k=5", rows, () => evaluate(file.truth, file.predictions));
add("evaluatePropensityScored, k=5", rows, () =>
  evaluatePropensityScored(file.truth, file.predictions, propensities),
);
add("evaluate + evaluatePropensityScored", rows, () => {
  evaluate(file.truth, file.predictions);
  evaluatePropensityScored(file.truth, file.predictions, propensities);
});
add("naive port of the scripts (both)", rows, () =>
  naiveEvaluate(file.truth, file.predictions, train.labels),
);
add(`evaluate, k=5, bibtex x${TILES}`, big.truth.rows, () => evaluate(big.truth, big.predictions));
add(`evaluatePropensityScored, k=5, bibtex x${TILES}`, big.truth.rows, () =>
  evaluatePropensityScored(big.truth, big.predictions, propensities),
);
add(`naive port (both), bibtex x${TILES}`, big.truth.rows, () =>
  naiveEvaluate(big.truth, big.predictions, train.labels),
);

const rate = (c: { rows: number; ms: number }) => (c.rows / c.ms) * 1000;
console.log(
  `@annexml/eval on bibtex (${rows} rows x ${file.predictions.k} predictions), node ${process.version}`,
);
console.log(`metrics match the reference files: ${matches ? "yes" : "NO"}`);
console.log("");
console.log(
  `${"case".padEnd(48)}${"rows".padStart(9)}${"ms/call".padStart(11)}${"rows/s".padStart(14)}`,
);
for (const c of cases) {
  console.log(
    `${c.name.padEnd(48)}${String(c.rows).padStart(9)}${c.ms.toFixed(3).padStart(11)}${Math.round(rate(c)).toLocaleString("en-US").padStart(14)}`,
  );
}
const both = cases[4];
const naive = cases[5];
console.log("");
console.log(`speed-up over the naive port (both metric sets): ${(naive.ms / both.ms).toFixed(1)}x`);
console.log(
  JSON.stringify({
    package: "@annexml/eval",
    dataset: "bibtex",
    rows,
    matchesReference: matches,
    evaluateRowsPerSec: Math.round(rate(cases[2])),
    propensityScoredRowsPerSec: Math.round(rate(cases[3])),
    bothRowsPerSec: Math.round(rate(both)),
    naiveRowsPerSec: Math.round(rate(naive)),
    speedupOverNaive: Number((naive.ms / both.ms).toFixed(2)),
    evaluateRowsPerSecLarge: Math.round(rate(cases[6])),
    propensityScoredRowsPerSecLarge: Math.round(rate(cases[7])),
    readResultFileRowsPerSec: Math.round(rate(cases[0])),
  }),
);
