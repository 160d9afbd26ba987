// Memory of the min-cut partitioner's state, measured on synthetic data.
//   tsx --conditions=@annexml/source bench/memory.ts [N F K iters [budgetBytes]]
// Defaults: N = F = 100,000, K = 166, 1 epoch (a tenth of the README's
// 1,000,000 x 1,000,000 x 166 case in N and F). Prints the dense-state
// formula, the state actually built, and the process's peak RSS growth
// (Linux /proc/self/status VmHWM) over the data alone.
import { readFileSync } from "node:fs";
import { Rng } from "@annexml/sparse-io";
import { DenseFtrlState } from "../src/ftrl-state.js";
import { createFtrlState, fitMincut } from "../src/mincut.js";

const [n, f, k, iters] = [100_000, 100_000, 166, 1].map((d, i) => Number(process.argv[2 + i] ?? d));
const budget = Number(process.argv[6] ?? 2 ** 31);
const NNZ = 20;
const TOPICS = 1000;
const LABELS_PER_TOPIC = 20;

function status(key: string): number {
  const m = readFileSync("/proc/self/status", "utf8").match(new RegExp(`${key}:\\s+(\\d+) kB`));
  return m ? Number(m[1]) * 1024 : Number.NaN;
}
const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

// Synthetic rows: each belongs to a topic; 3/4 of its features come from the
// topic's slice of the feature space, the rest from anywhere; 3 labels from
// the topic's own labels. Unit-norm rows, NNZ non-zeros each.
const rng = new Rng(7);
const indptr = new Int32Array(n + 1);
const indices = new Int32Array(n * NNZ);
const values = new Float32Array(n * NNZ).fill(1 / Math.sqrt(NNZ));
const lindptr = new Int32Array(n + 1);
const lindices = new Int32Array(n * 3);
const slice = Math.max(Math.floor(f / TOPICS), NNZ);
const row = new Int32Array(NNZ);
for (let i = 0; i < n; i++) {
  const t = rng.nextInt(TOPICS);
  let count = 0;
  while (count < NNZ) {
    const j = rng.nextFloat() < 0.75 ? (t * slice + rng.nextInt(slice)) % f : rng.nextInt(f);
    let dup = false;
    for (let q = 0; q < count; q++) if (row[q] === j) dup = true;
    if (!dup) row[count++] = j;
  }
  row.sort();
  indices.set(row, i * NNZ);
  indptr[i + 1] = (i + 1) * NNZ;
  const a = rng.nextInt(LABELS_PER_TOPIC);
  const b = (a + 1 + rng.nextInt(LABELS_PER_TOPIC - 1)) % LABELS_PER_TOPIC;
  const c = rng.nextInt(TOPICS * LABELS_PER_TOPIC);
  const ls = [t * LABELS_PER_TOPIC + a, t * LABELS_PER_TOPIC + b, c].sort((x, y) => x - y);
  const uniq = ls.filter((v, q) => q === 0 || v !== ls[q - 1]);
  lindices.set(uniq, lindptr[i]);
  lindptr[i + 1] = lindptr[i] + uniq.length;
}
const features = { rows: n, cols: f, indptr, indices, values };
const labels = {
  rows: n,
  cols: TOPICS * LABELS_PER_TOPIC,
  indptr: lindptr,
  indices: lindices.subarray(0, lindptr[n]),
};

const dense = DenseFtrlState.bytesFor(k, f);
const probe = createFtrlState(k, f, { eta0: 0.1, lambda: 4, memoryBudgetBytes: budget });
const kind = probe instanceof DenseFtrlState ? "dense" : "sparse";
console.log(`N=${n} F=${f} K=${k} nnz/row=${NNZ} iters=${iters} budget=${mb(budget)}`);
console.log(`dense state formula 12 * ceil4(K) * F = ${mb(dense)}; layout chosen: ${kind}`);

const baseline = status("VmRSS");
let epochPeak = 0;
const start = performance.now();
const model = fitMincut(features, labels, {
  k,
  iters,
  memoryBudgetBytes: budget,
  onEpoch: (e) => {
    epochPeak = Math.max(epochPeak, process.memoryUsage().arrayBuffers);
    console.log(`epoch ${e.epoch}: objective ${e.objective.toFixed(4)}, ${e.seconds.toFixed(1)} s`);
  },
});
const seconds = (performance.now() - start) / 1000;
const peak = status("VmHWM");
const arrays = model.toArrays();
console.log(`fit ${seconds.toFixed(1)} s; model: ${arrays.weights.length} non-zero weights`);
console.log(
  `RSS with the data only: ${mb(baseline)}; peak RSS during fit: ${mb(peak)}; growth ${mb(peak - baseline)}`,
);
console.log(`typed-array bytes alive at the end of an epoch: ${mb(epochPeak)}`);
console.log(
  JSON.stringify({
    n,
    f,
    k,
    layout: kind,
    denseStateBytes: dense,
    peakGrowthBytes: peak - baseline,
    epochArrayBufferBytes: epochPeak,
    fitSec: Number(seconds.toFixed(2)),
  }),
);
