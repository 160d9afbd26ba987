// Benchmark of `annexml import` on the original C++ AnnexML's 15-learner
// bibtex model (../shared/reference/bibtex, when present; else the bundled
// 2-learner fixture): import time with 1 and 2 threads, then prediction
// parity against the original's result files on the bibtex test split.
// Not a test: `pnpm --filter @annexml/cli bench:import [-- --repeat N]`.
// Prints a table; the last line is one JSON object.

import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { evaluate } from "@annexml/eval";
import type { AnnexmlModel } from "@annexml/model";
import { normalizeRows, parseResultFile, readDataset } from "@annexml/sparse-io";
import { parseMetricsFile, tieAwareTopAgreement, topAgreement } from "../src/import/compare.js";
import { fileSource, readCppModel } from "../src/import/index.js";
import { readModelFile } from "../src/model/files.js";
import { BIN, ROOT, run } from "./paths.js";

const SHARED_REF = join(ROOT, "../shared/reference/bibtex");
const REF = existsSync(join(SHARED_REF, "model.bin"))
  ? SHARED_REF
  : join(ROOT, "apps/cli/fixtures/cpp-bibtex-2learners");
const SHARED_TEST = join(ROOT, "../shared/data/bibtex/test.txt");
const TEST = existsSync(SHARED_TEST) ? SHARED_TEST : join(ROOT, "data/bibtex/test.txt");
const MODEL = join(REF, "model.bin");

const args = process.argv.slice(2).filter((a) => a !== "--");
const repeatAt = args.indexOf("--repeat");
const repeat = repeatAt >= 0 ? Number(args[repeatAt + 1]) : 3;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const seconds = (t0: number) => (performance.now() - t0) / 1000;

const dir = await mkdtemp(join(tmpdir(), "annexml-bench-import-"));

/**
 * Wall seconds of `annexml import` (the built CLI, so worker threads load
 * the built worker), median of `repeat` runs; returns the model path.
 */
async function timeImport(threads: number): Promise<{ seconds: number; path: string }> {
  const path = join(dir, `imported-${threads}.model`);
  const times: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const t0 = performance.now();
    await run(process.execPath, [BIN, "import", MODEL, path, `num_thread=${threads}`, "verbose=0"]);
    times.push(seconds(t0));
  }
  return { seconds: median(times), path };
}

const readTimes: number[] = [];
for (let i = 0; i < repeat; i++) {
  const t0 = performance.now();
  const source = await fileSource(MODEL);
  await readCppModel(source);
  await source.close();
  readTimes.push(seconds(t0));
}
const read = median(readTimes);
const import1 = await timeImport(1);
const import2 = await timeImport(2);
const sameFile = (await readFile(import1.path)).equals(await readFile(import2.path));
const { model, fileBytes } = await readModelFile(import1.path);
await rm(dir, { recursive: true });

const test = await readDataset(TEST);
normalizeRows(test.features);
const learners = model.numLearners;
console.log(`model: ${MODEL} (${learners} learners), test: ${TEST} (${test.features.rows} rows)`);
console.log(
  `read + check ${read.toFixed(3)} s; annexml import (whole process, graphs built, model saved): ` +
    `${import1.seconds.toFixed(2)} s with 1 thread, ${import2.seconds.toFixed(2)} s with 2 threads ` +
    `(identical files: ${sameFile}); model ${(fileBytes / 1e6).toFixed(1)} MB; medians of ${repeat}`,
);

type Row = Record<string, string | number>;
const table: Row[] = [];
const summary: Record<string, unknown> = {
  learners,
  rows: test.features.rows,
  readSeconds: read,
  importSeconds1: import1.seconds,
  importSeconds2: import2.seconds,
  modelMB: fileBytes / 1e6,
  sameFileForThreads: sameFile,
};
for (const [predType, search, name] of [
  [0, "bruteForce", "bruteforce"],
  [1, "graph", "graph"],
] as const) {
  const ref = parseResultFile(await readFile(join(REF, `result-${name}.txt`)));
  const refMetrics = parseMetricsFile(
    await readFile(join(REF, `result-${name}.metrics.txt`), "utf8"),
  );
  const predictor = model.predictor({ search });
  const times: number[] = [];
  let out = null as unknown as ReturnType<AnnexmlModel["predict"]>;
  for (let i = 0; i < repeat; i++) {
    out = {
      rows: test.features.rows,
      k: 10,
      ids: new Int32Array(test.features.rows * 10),
      scores: new Float32Array(test.features.rows * 10),
    };
    const t = performance.now();
    predictor.predictInto(test.features, out);
    times.push(seconds(t));
  }
  const full = model.predict(test.features, { search, k: model.trainLabels.cols });
  const m = evaluate(ref.truth, out, { k: 5 });
  const dp = Array.from(m.precision, (v, i) => v - refMetrics.precision[i]);
  const dn = Array.from(m.ndcg, (v, i) => v - refMetrics.ndcg[i]);
  const strict = topAgreement(out, ref.predictions, 5);
  const ties = tieAwareTopAgreement(full, ref.predictions);
  table.push({
    pred_type: predType,
    "predict s (1 thread)": median(times).toFixed(2),
    "P@1/3/5 ours": [0, 2, 4].map((i) => (100 * m.precision[i]).toFixed(2)).join(" / "),
    "P@1/3/5 original": [0, 2, 4]
      .map((i) => (100 * refMetrics.precision[i]).toFixed(2))
      .join(" / "),
    "max |dP@k|": Math.max(...dp.map(Math.abs)).toFixed(4),
    "max |dnDCG@k|": Math.max(...dn.map(Math.abs)).toFixed(4),
    "same top-5": strict.toFixed(4),
    "same top-5, ties as original": ties.toFixed(4),
  });
  summary[name] = {
    predictSeconds: median(times),
    precision: Array.from(m.precision),
    originalPrecision: refMetrics.precision,
    precisionDiff: dp,
    ndcgDiff: dn,
    sameTop5: strict,
    sameTop5TiesAsOriginal: ties,
  };
}
console.table(table);
console.log(
  "same top-5: rows whose first 5 labels (each row sorted by score, then label id) equal the original's; " +
    "ties as original: the same, with our equal scores at the original's top-10 cut ordered as it cut them (arbitrarily).",
);
console.log(JSON.stringify(summary));
