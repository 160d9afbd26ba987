// Single-row prediction latency from the API (issue 14): a predictor built
// once, then `predictRow` per test row, against what a single-row
// `model.predict` cost before the predictor was reusable (a predictor built
// per call). Models: the example parameters (15 learners), trained once per
// dataset with the built CLI and kept in --models (default
// $TMPDIR/annexml-bench-row). Not a test:
// `pnpm --filter @annexml/cli bench:row [-- dataset ...] [--rows N]`
// Prints a table; the last line is one JSON object.
import { existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readDataset } from "@annexml/sparse-io";
import { loadModel } from "../src/api.js";
import { BIN, CONFIG, DATA, run } from "./paths.js";

const args = process.argv.slice(2);
const option = (name: string) => {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const value = args[i + 1];
  args.splice(i, 2);
  return value;
};
const models = option("--models") ?? join(tmpdir(), "annexml-bench-row");
const maxRows = Number(option("--rows") ?? 2000);
const datasets = args.length ? args : ["bibtex", "delicious"];
mkdirSync(models, { recursive: true });

function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

const results: Record<string, Record<string, number>> = {};
const table: string[] = [];
for (const name of datasets) {
  const train = join(DATA, name, "train.txt");
  const testFile = join(DATA, name, "test.txt");
  if (!existsSync(train)) {
    console.error(`skipping ${name}: no ${train}`);
    continue;
  }
  const modelFile = join(models, `${name}.model`);
  if (!existsSync(modelFile)) {
    console.error(`training ${name} (example parameters, 2 threads) -> ${modelFile}`);
    await run(
      process.execPath,
      [
        BIN,
        "train",
        CONFIG,
        `train_file=${train}`,
        `model_file=${modelFile}`,
        "num_thread=2",
        "verbose=0",
      ],
      { maxBuffer: 1 << 26 },
    );
  }
  const model = await loadModel(modelFile);
  const test = await readDataset(testFile);
  const { indptr, indices, values } = test.features;
  const rows = Math.min(maxRows, test.features.rows);
  let start = performance.now();
  const predictor = model.predictor({ k: 5 });
  const buildMs = performance.now() - start;
  // Warm-up (JIT, caches), then every row timed on its own.
  for (let r = 0; r < Math.min(rows, 200); r++)
    predictor.predictRow(
      indices.subarray(indptr[r], indptr[r + 1]),
      values.subarray(indptr[r], indptr[r + 1]),
    );
  const times = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const i = indices.subarray(indptr[r], indptr[r + 1]);
    const v = values.subarray(indptr[r], indptr[r + 1]);
    start = performance.now();
    predictor.predictRow(i, v, 5);
    times[r] = performance.now() - start;
  }
  times.sort();
  // The old cost of one single-row call: a predictor built per call.
  const oldCalls = 20;
  start = performance.now();
  for (let r = 0; r < oldCalls; r++) {
    model
      .predictor({ k: 5 })
      .predictRow(
        indices.subarray(indptr[r], indptr[r + 1]),
        values.subarray(indptr[r], indptr[r + 1]),
      );
  }
  const oldMs = (performance.now() - start) / oldCalls;
  const figures = {
    learners: model.numLearners,
    rows,
    medianMs: quantile(times, 0.5),
    p99Ms: quantile(times, 0.99),
    maxMs: times[times.length - 1],
    buildMs,
    perCallRebuildMs: oldMs,
  };
  results[name] = figures;
  table.push(
    `${name.padEnd(12)} ${String(figures.learners).padStart(8)} ${String(rows).padStart(6)} ${figures.medianMs.toFixed(3).padStart(10)} ${figures.p99Ms.toFixed(3).padStart(8)} ${figures.buildMs.toFixed(1).padStart(9)} ${figures.perCallRebuildMs.toFixed(1).padStart(14)}`,
  );
}
console.log(
  `${"dataset".padEnd(12)} ${"learners".padStart(8)} ${"rows".padStart(6)} ${"median ms".padStart(10)} ${"p99 ms".padStart(8)} ${"build ms".padStart(9)} ${"rebuild/call".padStart(14)}`,
);
for (const line of table) console.log(line);
console.log(JSON.stringify({ bench: "predictRow", goalMedianMs: 0.2, results }));
