/**
 * Embedding benchmark: one learner (one partition = all training rows) per
 * dataset: label kNN positives + 10 epochs, seconds per epoch and per
 * learner (wall and CPU), and the single learner's test P@1 with
 * brute-force top-10 voting. Both anchor-step variants.
 *
 *   pnpm --filter @annexml/embed bench            (REPEATS=3 by default on bibtex)
 *
 * The last output line is one JSON object with the headline figures.
 */
import { existsSync } from "node:fs";
import { labelKnnGraph } from "@annexml/knng";
import { normalizeRows, readDataset, selectRows } from "@annexml/sparse-io";
import {
  type AnchorStep,
  knnVotePrecision,
  trainEmbedding,
  wasmKernelAvailable,
} from "../src/index.js";

const shared = "/work/shared/data";
const bundled = new URL("../../../data", import.meta.url).pathname;
const names = (process.env.DATASETS ?? "bibtex,delicious,phyletic_profiles").split(",");
const repeatsFor = (name: string) => Number(process.env.REPEATS ?? (name === "bibtex" ? 3 : 1));

const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (x: number, d = 2) => x.toFixed(d);

interface Figures {
  secondsPerEpoch: number;
  secondsPerLearner: number;
  cpuSecondsPerLearner: number;
  positivesSeconds: number;
  singleLearnerTestP1: number;
}

const result: Record<string, Figures & { rows: number; nnzPerRow: number; merged: Figures }> = {};
console.log(`kernel: ${wasmKernelAvailable() ? "wasm (f32x4 SIMD)" : "js"}; times are medians`);
console.log(
  "dataset            step        rows  nnz/row  positives s  s/epoch  s/learner  cpu s/learner  test P@1",
);
for (const name of names) {
  const dir = existsSync(`${shared}/${name}`) ? `${shared}/${name}` : `${bundled}/${name}`;
  if (!existsSync(`${dir}/train.txt`)) {
    console.log(`${name}: no data, skipped`);
    continue;
  }
  const [train, test] = await Promise.all([
    readDataset(`${dir}/train.txt`),
    readDataset(`${dir}/test.txt`),
  ]);
  normalizeRows(train.features);
  normalizeRows(test.features);
  const n = train.features.rows;
  const rows = Int32Array.from({ length: n }, (_, i) => i);
  const localLabels = selectRows(train.labels, rows);
  const figures = {} as Record<AnchorStep, Figures>;
  for (const anchorStep of ["per-sample", "merged"] as const) {
    const wall: number[] = [];
    const cpu: number[] = [];
    const epochs: number[] = [];
    const positivesTimes: number[] = [];
    let p1 = 0;
    for (let rep = 0; rep < repeatsFor(name); rep++) {
      const w0 = performance.now();
      const c0 = cpuSeconds();
      const positives = labelKnnGraph(train.labels, { k: 10, rows });
      positivesTimes.push((performance.now() - w0) / 1000);
      const model = trainEmbedding(
        { features: train.features, labels: train.labels, rows, positives },
        { seed: 1, anchorStep, onEpoch: (e) => epochs.push(e.seconds) },
      );
      wall.push((performance.now() - w0) / 1000);
      cpu.push(cpuSeconds() - c0);
      if (rep === 0) {
        const queries = model.embedRows(test.features);
        p1 = knnVotePrecision(queries, test.labels, model.embeddings, localLabels)[0];
      }
    }
    figures[anchorStep] = {
      secondsPerEpoch: median(epochs),
      secondsPerLearner: median(wall),
      cpuSecondsPerLearner: median(cpu),
      positivesSeconds: median(positivesTimes),
      singleLearnerTestP1: p1,
    };
    const f = figures[anchorStep];
    console.log(
      `${name.padEnd(18)} ${anchorStep.padEnd(10)} ${String(n).padStart(6)} ${fmt(train.features.indptr[n] / n, 1).padStart(8)} ${fmt(f.positivesSeconds).padStart(12)} ${fmt(f.secondsPerEpoch, 3).padStart(8)} ${fmt(f.secondsPerLearner).padStart(10)} ${fmt(f.cpuSecondsPerLearner).padStart(14)} ${fmt(f.singleLearnerTestP1, 4).padStart(9)}`,
    );
  }
  result[name] = {
    ...figures["per-sample"],
    rows: n,
    nnzPerRow: train.features.indptr[n] / n,
    merged: figures.merged,
  };
}
console.log("goal: one bibtex learner (positives + 10 epochs) <= 3.5 s on one thread");
console.log(JSON.stringify(result));
