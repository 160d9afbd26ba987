// Partitioner scale benchmark (not a test): fit seconds (CPU seconds of
// this single-threaded process, which a shared machine disturbs far less
// than wall time; wall time too) of the flat min-cut
// and of the tree partitioner on synthetic data of N = 60K, 120K, 240K rows
// (labels N / 3, features 5N / 6, 10,000 test rows, seed 7: the issue's
// `synth_xmc.py s 60000 10000 20000 50000 7` and its doubles), K = N / 6000,
// the default options (10 epochs). Per size: seconds, K, the tree's depth,
// rows per partition (min / max) and the fraction of label-kNN pairs (the
// pruned graph min-cut trains on) kept in one partition. Then the fitted
// exponent of time in N. Last output line: one JSON object with the figures.
//
//   pnpm --filter @annexml/partition bench:scale            # 60,120,240 (about 10 min)
//   SIZES=60,120 PARTITIONERS=tree pnpm --filter @annexml/partition bench:scale
//   SCALE_DATA=/some/dir (default /tmp/annexml-scale): where the data is generated
//   CLUSTER_SIZE=375 SIZES=60: K = 160 at N = 60K, the cost of K at fixed N
//   TREE_UPPER=kmeans: the tree's treeUpperSplitter
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { labelKnnGraph } from "@annexml/knng";
import { normalizeRows, readDataset } from "@annexml/sparse-io";
import {
  createPartitioner,
  partitionSizes,
  samePartitionFraction,
  type TreeSplitter,
} from "../src/index.js";

const sizes = (process.env.SIZES ?? "60,120,240").split(",").map((s) => Number(s) * 1000);
const names = (process.env.PARTITIONERS ?? "mincut,tree").split(",");
const dataDir = process.env.SCALE_DATA ?? "/tmp/annexml-scale";
const generator = process.env.SYNTH_XMC ?? "/work/shared/tools/synth_xmc.py";
const CLUSTER_SIZE = Number(process.env.CLUSTER_SIZE ?? 6000);

function trainFile(n: number): string {
  const prefix = `${dataDir}/s${n / 1000}k`;
  const file = `${prefix}_train.txt`;
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true });
    const args = [generator, prefix, n, 10000, Math.round(n / 3), Math.round((5 * n) / 6), 7];
    execFileSync("python3", args.map(String), { stdio: "inherit" });
  }
  return file;
}

interface Row {
  n: number;
  name: string;
  seconds: number;
  wall: number;
  k: number;
  depth: number;
  minRows: number;
  maxRows: number;
  samePart: number;
}

function treeDepth(ptr: Int32Array | undefined, child: Int32Array | undefined): number {
  if (!ptr || !child) return 1;
  const depth = new Int32Array(ptr.length - 1);
  depth[0] = 1;
  let max = 1;
  for (let i = 0; i + 1 < ptr.length; i++) {
    for (let e = ptr[i]; e < ptr[i + 1]; e++) {
      if (child[e] >= 0) depth[child[e]] = depth[i] + 1;
      max = Math.max(max, depth[i]);
    }
  }
  return max;
}

const rows: Row[] = [];
for (const n of sizes) {
  const { features, labels } = await readDataset(trainFile(n));
  normalizeRows(features);
  const graph = labelKnnGraph(labels, { k: 10, pruneBudget: 5000 });
  for (const name of names) {
    const started = performance.now();
    const cpu = process.cpuUsage();
    const model = createPartitioner(name).fit(features, labels, {
      clusterSize: CLUSTER_SIZE,
      ...(process.env.TREE_UPPER
        ? { treeUpperSplitter: process.env.TREE_UPPER as TreeSplitter }
        : {}),
    });
    const used = process.cpuUsage(cpu);
    const seconds = (used.user + used.system) / 1e6;
    const wall = (performance.now() - started) / 1000;
    const assignment = model.assignAll(features);
    const counts = partitionSizes(assignment, model.k);
    const a = model.toArrays();
    const row: Row = {
      n,
      name,
      seconds,
      wall,
      k: model.k,
      depth: treeDepth(a.treeChildPtr, a.treeChild),
      minRows: Math.min(...counts),
      maxRows: Math.max(...counts),
      samePart: samePartitionFraction(assignment, graph),
    };
    rows.push(row);
    console.log(
      `${String(n).padStart(7)} ${name.padEnd(7)} ${seconds.toFixed(1).padStart(7)} s CPU (${wall.toFixed(1)} s wall)  K ${row.k}  depth ${row.depth}  rows ${row.minRows}..${row.maxRows}  same-part ${row.samePart.toFixed(4)}`,
    );
  }
}

/** Least-squares slope of log(CPU seconds) on log(N). */
function exponent(points: Row[]): number | null {
  if (points.length < 2) return null;
  const xs = points.map((p) => Math.log(p.n));
  const ys = points.map((p) => Math.log(p.seconds));
  const mx = xs.reduce((s, v) => s + v, 0) / xs.length;
  const my = ys.reduce((s, v) => s + v, 0) / ys.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return num / den;
}

console.log("\npartitioner  exponent of CPU seconds in N (least squares over the sizes)");
const summary: Record<string, unknown> = {};
for (const name of names) {
  const mine = rows.filter((r) => r.name === name);
  const e = exponent(mine);
  console.log(`${name.padEnd(12)} ${e === null ? "-" : e.toFixed(2)}`);
  summary[name] = {
    cpuSeconds: Object.fromEntries(mine.map((r) => [r.n, Number(r.seconds.toFixed(2))])),
    wallSeconds: Object.fromEntries(mine.map((r) => [r.n, Number(r.wall.toFixed(2))])),
    samePart: Object.fromEntries(mine.map((r) => [r.n, Number(r.samePart.toFixed(4))])),
    depth: Object.fromEntries(mine.map((r) => [r.n, r.depth])),
    exponent: e === null ? null : Number(e.toFixed(3)),
  };
}
console.log(JSON.stringify({ bench: "partition-scale", clusterSize: CLUSTER_SIZE, ...summary }));
