/**
 * Benchmarks of @annexml/knng (never part of `test`):
 * - the label kNN graph (k = 10, label-normalised) over all rows of each
 *   train file, without pruning and with the min-cut budget 5000;
 * - exact vs approximate dense kNN graph (k = 50, squared L2) for n = 4880,
 *   6000 and 12000 clustered unit vectors in 50 dims (stride 56), with
 *   recall: with the WebAssembly SIMD kernel (the default where it runs)
 *   and with the scalar JavaScript kernel (the fallback; the only kernel
 *   before the SIMD one).
 * Times are CPU seconds (user + system) of this process, median of repeats:
 * the machine is shared, and CPU time is less noisy than wall time.
 * The last output line is one JSON object with the headline figures.
 */
import { existsSync } from "node:fs";
import { readDataset, recallAtK } from "@annexml/sparse-io";
import {
  approxKnnGraph,
  clusteredUnitVectors,
  exactKnnGraph,
  LabelKnnGraphBuilder,
  type SpaceKernel,
  wasmSpaceAvailable,
} from "../src/index.js";

const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
function time<T>(repeats: number, f: () => T): { seconds: number; result: T } {
  const times: number[] = [];
  let result!: T;
  for (let r = 0; r < repeats; r++) {
    const t0 = cpuSeconds();
    result = f();
    times.push(cpuSeconds() - t0);
  }
  return { seconds: Number(median(times).toFixed(3)), result };
}

const sharedRoot = new URL("../../../../shared/data/", import.meta.url).pathname;
const bundledRoot = new URL("../../../data/", import.meta.url).pathname;
const names = ["bibtex", "delicious", "phyletic_profiles"];

const label: Record<
  string,
  { rows: number; seconds: number; prunedSeconds: number; threshold: number | null }
> = {};
console.log("label kNN graph, k = 10, all rows (CPU s, median of 3)");
console.log("dataset            rows    unpruned  pruned(5000)  threshold");
for (const name of names) {
  const path = [sharedRoot, bundledRoot].map((r) => `${r}${name}/train.txt`).find(existsSync);
  if (!path) continue;
  const { labels } = await readDataset(path);
  const builder = new LabelKnnGraphBuilder();
  const plain = time(3, () => builder.build(labels, { k: 10 }));
  const pruned = time(3, () => builder.build(labels, { k: 10, pruneBudget: 5000 }));
  label[name] = {
    rows: labels.rows,
    seconds: plain.seconds,
    prunedSeconds: pruned.seconds,
    // null: every posting list fits the budget, nothing pruned
    threshold: Number.isFinite(pruned.result.pruneThreshold) ? pruned.result.pruneThreshold : null,
  };
  console.log(
    `${name.padEnd(18)} ${String(labels.rows).padStart(6)} ${plain.seconds.toFixed(3).padStart(10)} ${pruned.seconds.toFixed(3).padStart(13)} ${String(label[name].threshold ?? "none").padStart(10)}`,
  );
}

interface DenseFigures {
  exactSec: number;
  approxSec: number;
  recall: number;
  flatRecall: number;
}
const dense: Partial<Record<SpaceKernel, Record<string, DenseFigures>>> = {};
const kernels: SpaceKernel[] = wasmSpaceAvailable() ? ["wasm", "js"] : ["js"];
for (const kernel of kernels) {
  const figures: Record<string, DenseFigures> = {};
  dense[kernel] = figures;
  const repeats = kernel === "wasm" ? 5 : 3;
  console.log(
    `\ndense kNN graph, k = 50, l2, 50 dims, ${kernel} kernel (CPU s, median of ${repeats})`,
  );
  console.log("n        exact   approx   recall   recall(uniform centres)");
  for (const n of [4880, 6000, 12000]) {
    const themed = clusteredUnitVectors({ rows: n, cols: 50, stride: 56, seed: n });
    const exact = time(kernel === "js" && n > 8000 ? 1 : repeats, () =>
      exactKnnGraph(themed, { k: 50, kernel }),
    );
    const approx = time(repeats, () => approxKnnGraph(themed, { k: 50, seed: 1, kernel }));
    const recall = recallAtK(approx.result, exact.result);
    const flat = clusteredUnitVectors({ rows: n, themes: 0, spread: 0.5, seed: n + 1 });
    const flatRecall = recallAtK(
      approxKnnGraph(flat, { k: 50, kernel }),
      exactKnnGraph(flat, { k: 50, kernel }),
    );
    figures[n] = {
      exactSec: exact.seconds,
      approxSec: approx.seconds,
      recall: Number(recall.toFixed(5)),
      flatRecall: Number(flatRecall.toFixed(5)),
    };
    console.log(
      `${String(n).padEnd(8)} ${exact.seconds.toFixed(3).padStart(6)} ${approx.seconds.toFixed(3).padStart(8)} ${recall.toFixed(4).padStart(8)} ${flatRecall.toFixed(4).padStart(10)}`,
    );
  }
}

console.log(JSON.stringify({ label, dense }));
