// One cold parse in a fresh process: what a CLI user sees. Prints one JSON line.
import { statSync } from "node:fs";
import { readDataset } from "../src/index.js";

const file = process.argv[2];
const baselineRss = process.memoryUsage().rss;
const t0 = performance.now();
const d = await readDataset(file);
const seconds = (performance.now() - t0) / 1000;
const peakRss = process.resourceUsage().maxRSS * 1024;
const arrays = [
  d.features.indptr,
  d.features.indices,
  d.features.values,
  d.labels.indptr,
  d.labels.indices,
];
const arrayBytes = arrays.reduce((s, a) => s + a.byteLength, 0);
console.log(
  JSON.stringify({
    bytes: statSync(file).size,
    seconds,
    arrayBytes,
    baselineRss,
    peakRss,
    rows: d.features.rows,
    nnz: d.features.indices.length,
  }),
);
