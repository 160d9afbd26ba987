// Partitioner benchmark: fit seconds per epoch of kmeans and mincut on each
// shared train file at clusterSize 1500, and the fraction of label-kNN pairs
// (k = 10 over all rows) that each partitioning (and a random one) keeps in
// the same partition. "same-part" uses the unpruned graph (the issue's
// measure); "train-graph" the graph min-cut trains on (head labels pruned
// with the budget 5000). mincut is also fitted once with the exact sparse
// state (memoryBudgetBytes 0) to time it and check it gives the same model.
// Last output line: one JSON object with the figures.
import { existsSync } from "node:fs";
import { labelKnnGraph } from "@annexml/knng";
import { normalizeRows, Rng, readDataset } from "@annexml/sparse-io";
import {
  createPartitioner,
  type PartitionArrays,
  partitionSizes,
  samePartitionFraction,
} from "../src/index.js";

const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const CLUSTER_SIZE = 1500;
const here = new URL(".", import.meta.url).pathname;
const sharedDir = "/work/shared/data";
const localDir = `${here}../../../data`;
const names = existsSync(sharedDir)
  ? ["bibtex", "delicious", "phyletic_profiles"]
  : ["bibtex", "delicious"];

function toPlain(a: PartitionArrays) {
  return [a.k, a.numFeatures, [...a.featurePtr], [...a.partitions], [...a.weights]];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

interface AlgoResult {
  secPerEpoch: number;
  fitSec: number;
  epochs: number;
  samePartition: number;
  samePartitionTrainGraph: number;
  minPartition: number;
  maxPartition: number;
}
const results: Record<string, Record<string, unknown>> = {};
const table: string[][] = [];

for (const name of names) {
  const dir = existsSync(`${sharedDir}/${name}/train.txt`) ? sharedDir : localDir;
  const data = await readDataset(`${dir}/${name}/train.txt`);
  const x = normalizeRows(data.features);
  const graph = labelKnnGraph(data.labels, { k: 10 });
  const trainGraph = labelKnnGraph(data.labels, { k: 10, pruneBudget: 5000 });
  const entry: Record<string, unknown> = {};
  let k = 1;
  for (const algo of ["kmeans", "mincut"]) {
    const partitioner = createPartitioner(algo);
    const perEpoch: number[] = [];
    const fitSecs: number[] = [];
    let epochs = 0;
    let assignment: Int32Array = new Int32Array(0);
    let arrays: PartitionArrays | undefined;
    for (let rep = 0; rep < REPEATS; rep++) {
      const seconds: number[] = [];
      const start = performance.now();
      const model = partitioner.fit(x, data.labels, {
        clusterSize: CLUSTER_SIZE,
        onEpoch: (e) => seconds.push(e.seconds),
      });
      fitSecs.push((performance.now() - start) / 1000);
      perEpoch.push(median(seconds));
      epochs = seconds.length;
      k = model.k;
      assignment = model.assignAll(x);
      arrays = model.toArrays();
    }
    const sizes = partitionSizes(assignment, k);
    const r: AlgoResult = {
      secPerEpoch: Number(median(perEpoch).toFixed(4)),
      fitSec: Number(median(fitSecs).toFixed(3)),
      epochs,
      samePartition: Number(samePartitionFraction(assignment, graph).toFixed(4)),
      samePartitionTrainGraph: Number(samePartitionFraction(assignment, trainGraph).toFixed(4)),
      minPartition: Math.min(...sizes),
      maxPartition: Math.max(...sizes),
    };
    entry[algo] = r;
    let sparseNote = "";
    if (algo === "mincut") {
      const seconds: number[] = [];
      const sparse = partitioner.fit(x, data.labels, {
        clusterSize: CLUSTER_SIZE,
        memoryBudgetBytes: 0,
        onEpoch: (e) => seconds.push(e.seconds),
      });
      const same = JSON.stringify(toPlain(sparse.toArrays())) === JSON.stringify(toPlain(arrays!));
      entry.mincutSparseState = {
        secPerEpoch: Number(median(seconds).toFixed(4)),
        identicalModel: same,
      };
      sparseNote = ` (sparse state: ${median(seconds).toFixed(4)} s/epoch, identical model: ${same})`;
    }
    table.push([
      name,
      String(x.rows),
      String(k),
      algo,
      r.secPerEpoch.toFixed(4),
      r.fitSec.toFixed(2),
      String(r.epochs),
      r.samePartition.toFixed(4),
      r.samePartitionTrainGraph.toFixed(4),
      `${r.minPartition}..${r.maxPartition}${sparseNote}`,
    ]);
  }
  const rng = new Rng(1);
  const random = new Int32Array(x.rows);
  for (let i = 0; i < x.rows; i++) random[i] = rng.nextInt(k);
  const randomFraction = Number(samePartitionFraction(random, graph).toFixed(4));
  entry.k = k;
  const randomTrain = Number(samePartitionFraction(random, trainGraph).toFixed(4));
  entry.random = { samePartition: randomFraction, samePartitionTrainGraph: randomTrain };
  table.push([
    name,
    String(x.rows),
    String(k),
    "random",
    "-",
    "-",
    "-",
    randomFraction.toFixed(4),
    randomTrain.toFixed(4),
    "-",
  ]);
  results[name] = entry;
}

const header = [
  "dataset",
  "N",
  "K",
  "partitioner",
  "s/epoch",
  "fit s",
  "epochs",
  "same-part",
  "train-graph",
  "sizes",
];
const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
const line = (row: string[]) => row.map((c, i) => c.padEnd(widths[i])).join("  ");
console.log(
  `partition bench: clusterSize ${CLUSTER_SIZE}, median of ${REPEATS} fits, default options`,
);
console.log(line(header));
for (const row of table) console.log(line(row));
console.log(JSON.stringify(results));
