// Parse throughput and memory of the dataset reader on the shared datasets.
// Not a test: `pnpm --filter @annexml/sparse-io bench`. Last line: one JSON object.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseDataset, readDataset } from "../src/index.js";

const SHARED = new URL("../../../../shared/data/", import.meta.url).pathname;
const BUNDLED = new URL("../../../data/", import.meta.url).pathname;
const root = existsSync(SHARED) ? SHARED : BUNDLED;
const WARM_UP_RUNS = 3;
const WARM_RUNS = 7;
const COLD_RUNS = 5;

/** Rows, features, labels, avg labels, avg nnz of every split, from the data README. */
const PUBLISHED: Record<string, [number, number, number, string, string]> = {
  "bibtex/train.txt": [4880, 1836, 159, "2.380", "68.49"],
  "bibtex/test.txt": [2515, 1836, 159, "2.444", "68.98"],
  "delicious/train.txt": [12920, 500, 983, "19.047", "18.54"],
  "delicious/test.txt": [3185, 500, 983, "18.910", "17.29"],
  "phyletic_profiles/train.txt": [11485, 2071, 1260, "21.394", "212.66"],
  "phyletic_profiles/test.txt": [3828, 2071, 1260, "21.114", "213.00"],
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const mb = (bytes: number) => bytes / 1e6;

console.log(`data: ${root}`);
const checks: string[] = [];
const table: Record<string, string | number>[] = [];
const summary: Record<string, Record<string, number>> = {};
for (const name of readdirSync(root).sort()) {
  for (const split of ["train.txt", "test.txt"]) {
    const file = join(root, name, split);
    if (!existsSync(file)) continue;
    const key = `${name}/${split}`;
    const d = await readDataset(file);
    const got: [number, number, number, string, string] = [
      d.features.rows,
      d.features.cols,
      d.labels.cols,
      (d.labels.indices.length / d.labels.rows).toFixed(3),
      (d.features.indices.length / d.features.rows).toFixed(2),
    ];
    const expected = PUBLISHED[key];
    const ok = expected ? JSON.stringify(expected) === JSON.stringify(got) : true;
    checks.push(
      `${ok ? "ok  " : "FAIL"} ${key} rows=${got[0]} features=${got[1]} labels=${got[2]} avgLabels=${got[3]} avgNnz=${got[4]}`,
    );
    if (split !== "train.txt") continue;

    // Cold: a fresh process per run (what `annexml stats` or a first read
    // sees: the parser not yet optimised), the median run.
    const colds = Array.from({ length: COLD_RUNS }, () =>
      JSON.parse(
        execFileSync(
          process.execPath,
          [...process.execArgv, new URL("./parse-once.ts", import.meta.url).pathname, file],
          { encoding: "utf8" },
        )
          .trim()
          .split("\n")
          .pop()!,
      ),
    ).sort((a, b) => a.seconds - b.seconds);
    const cold = colds[colds.length >> 1];
    const bytes = readFileSync(file);
    const warm: number[] = [];
    for (let i = 0; i < WARM_UP_RUNS; i++) parseDataset(bytes);
    for (let i = 0; i < WARM_RUNS; i++) {
      const t0 = performance.now();
      parseDataset(bytes);
      warm.push((performance.now() - t0) / 1000);
    }
    const warmMbPerSec = mb(bytes.length) / median(warm);
    const coldMbPerSec = mb(cold.bytes) / cold.seconds;
    const peakOverBaselineMb = mb(cold.peakRss - cold.baselineRss);
    summary[name] = {
      mbPerSec: +warmMbPerSec.toFixed(1),
      coldMbPerSec: +coldMbPerSec.toFixed(1),
      peakRssMb: +mb(cold.peakRss).toFixed(1),
      parseMemoryMb: +peakOverBaselineMb.toFixed(1),
      arraysMb: +mb(cold.arrayBytes).toFixed(1),
      memoryRatio: +(peakOverBaselineMb / mb(cold.arrayBytes)).toFixed(2),
    };
    table.push({
      dataset: name,
      "file MB": +mb(bytes.length).toFixed(1),
      "warm MB/s (median of 7 after 3)": summary[name].mbPerSec,
      "cold MB/s (median of 5 fresh processes)": summary[name].coldMbPerSec,
      "peak RSS MB": summary[name].peakRssMb,
      "parse memory MB (peak - baseline)": summary[name].parseMemoryMb,
      "result arrays MB": summary[name].arraysMb,
      "memory / arrays": summary[name].memoryRatio,
    });
  }
}
console.log(checks.join("\n"));
console.table(table);
console.log(
  "goal: >= 300 MB/s cold on phyletic_profiles/train.txt, parse memory <= 3x the result arrays",
);
console.log(JSON.stringify(summary));
