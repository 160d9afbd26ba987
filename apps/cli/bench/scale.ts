// Scale benchmark of the whole pipeline (issue 12; not a test): per size N,
// synthetic data (labels N / 3, features 5N / 6, TEST test rows, seed 7:
// `synth_xmc.py s 60000 10000 20000 50000 7` is the 60K set), then
// `annexml train` and `annexml predict` with the example parameters and
// `num_learner=LEARNERS`, `num_thread=THREADS`: per phase seconds (load,
// partition, embed = embeddings + search graphs + streamed writes, other =
// the rest of training, predict), peak RSS of train and predict, model MB,
// P@1/3/5, and optionally the plain kNN baseline's P@1 (cosine over the
// sparse rows, num_nn neighbours, one vote each) on the first BASELINE test
// rows. Then the fitted exponent b of time ~ N^b per phase and of memory,
// and a log-log SVG of the phases (SVG=path, default bench/results/scale.svg).
// Last output line: one JSON object with every figure.
//
//   pnpm --filter @annexml/cli bench:scale                      # 60K..480K, 2 learners
//   SIZES=60 LEARNERS=15 pnpm --filter @annexml/cli bench:scale  # the issue's 60K run
//   SIZES=1000 TEST=50000 LABELS=1000000 FEATURES=500000 LEARNERS=3 BASELINE=2000 ...
//                                                               # the big run, alone
// The data goes to SCALE_DATA (default /tmp/annexml-scale; generated once,
// by python3 and SYNTH_XMC, default ../shared/tools/synth_xmc.py beside the
// repository). EXTRA="cls_type=2 ..." adds training parameters.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { normalizeRows, readDataset } from "@annexml/sparse-io";
import { BIN, CONFIG, ROOT } from "./paths.js";

const sizes = (process.env.SIZES ?? "60,120,240,480").split(",").map((s) => Number(s) * 1000);
const learners = Number(process.env.LEARNERS ?? 2);
const threads = Number(process.env.THREADS ?? 2);
const testRows = Number(process.env.TEST ?? 10000);
const baselineRows = Number(process.env.BASELINE ?? 0);
// Label and feature counts: N / 3 and 5N / 6 unless set (the big run: 10^6 and 5 * 10^5).
const labelCount = (n: number) => Number(process.env.LABELS ?? Math.round(n / 3));
const featureCount = (n: number) => Number(process.env.FEATURES ?? Math.round((5 * n) / 6));
const extra = (process.env.EXTRA ?? "").split(/\s+/).filter(Boolean);
const dataDir = process.env.SCALE_DATA ?? "/tmp/annexml-scale";
const generator = process.env.SYNTH_XMC ?? join(ROOT, "../shared/tools/synth_xmc.py");
const svgPath = process.env.SVG ?? join(ROOT, "apps/cli/bench/results/scale.svg");
const work = mkdtempSync(join(tmpdir(), "annexml-scale-"));

/** The train and test files of size `n` (generated when missing). */
function dataFiles(n: number): { train: string; test: string } {
  let tag = testRows === 10000 ? `s${n / 1000}k` : `s${n / 1000}k-t${testRows}`;
  if (process.env.LABELS || process.env.FEATURES) tag += `-l${labelCount(n)}-f${featureCount(n)}`;
  const prefix = join(dataDir, tag);
  const files = { train: `${prefix}_train.txt`, test: `${prefix}_test.txt` };
  if (!existsSync(files.train) || !existsSync(files.test)) {
    if (!existsSync(generator)) {
      throw new Error(
        `${files.train} is missing and the generator ${generator} is not there (set SYNTH_XMC)`,
      );
    }
    mkdirSync(dataDir, { recursive: true });
    const args = [generator, prefix, n, testRows, labelCount(n), featureCount(n), 7];
    console.error(`generating ${prefix}_{train,test}.txt`);
    execFileSync("python3", args.map(String), { stdio: "inherit" });
  }
  return files;
}

/** Runs the CLI (its progress lines go to our stderr as they come), resolving with its stderr. */
function annexml(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    let stdout = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
      process.stderr.write(d);
    });
    child.on("close", (code) =>
      code === 0
        ? resolve(`${stdout}\n${stderr}`)
        : reject(new Error(`annexml ${args[0]} exited ${code}: ${stderr.slice(-500)}`)),
    );
  });
}

const num = (re: RegExp, text: string) => {
  const m = re.exec(text);
  if (!m) throw new Error(`no ${re} in the output`);
  return Number(m[1]);
};

/** P@1 of plain kNN voting over the sparse rows (cosine, `k` neighbours) on the first `count` test rows. */
async function knnBaseline(train: string, test: string, k: number, count: number): Promise<number> {
  const t = await readDataset(train);
  const q = await readDataset(test);
  normalizeRows(t.features);
  normalizeRows(q.features);
  const x = t.features;
  const dense = new Float32Array(x.cols);
  const sims = new Float32Array(x.rows);
  const votes = new Float32Array(Math.max(t.labels.cols, q.labels.cols));
  let hits = 0;
  const n = Math.min(count, q.features.rows);
  for (let r = 0; r < n; r++) {
    const qf = q.features;
    for (let p = qf.indptr[r]; p < qf.indptr[r + 1]; p++) {
      if (qf.indices[p] < x.cols) dense[qf.indices[p]] = qf.values[p];
    }
    for (let i = 0; i < x.rows; i++) {
      let s = 0;
      for (let p = x.indptr[i]; p < x.indptr[i + 1]; p++) s += dense[x.indices[p]] * x.values[p];
      sims[i] = s;
    }
    for (let p = qf.indptr[r]; p < qf.indptr[r + 1]; p++) {
      if (qf.indices[p] < x.cols) dense[qf.indices[p]] = 0;
    }
    // The k most similar rows (lowest row id first on ties), then their labels' votes.
    const top: number[] = [];
    for (let i = 0; i < x.rows; i++) {
      if (top.length < k || sims[i] > sims[top[top.length - 1]]) {
        let at = top.length < k ? top.length : k - 1;
        if (top.length < k) top.push(i);
        while (at > 0 && sims[top[at - 1]] < sims[i]) {
          top[at] = top[at - 1];
          at--;
        }
        top[at] = i;
      }
    }
    let best = -1;
    for (const i of top) {
      for (let p = t.labels.indptr[i]; p < t.labels.indptr[i + 1]; p++) {
        const l = t.labels.indices[p];
        votes[l] += 1;
        if (best < 0 || votes[l] > votes[best] || (votes[l] === votes[best] && l < best)) best = l;
      }
    }
    for (const i of top) {
      for (let p = t.labels.indptr[i]; p < t.labels.indptr[i + 1]; p++)
        votes[t.labels.indices[p]] = 0;
    }
    const truth = q.labels.indices.subarray(q.labels.indptr[r], q.labels.indptr[r + 1]);
    if (best >= 0 && truth.includes(best)) hits++;
  }
  return (100 * hits) / n;
}

interface Row {
  n: number;
  load: number;
  partition: number;
  embed: number;
  other: number;
  train: number;
  predict: number;
  trainPeakMb: number;
  predictPeakMb: number;
  modelMb: number;
  p1: number;
  p3: number;
  p5: number;
  knnP1?: number;
}

const rows: Row[] = [];
for (const n of sizes) {
  const { train, test } = dataFiles(n);
  const model = join(work, `s${n}.model`);
  const result = join(work, `s${n}.result`);
  const files = [
    `train_file=${train}`,
    `predict_file=${test}`,
    `model_file=${model}`,
    `result_file=${result}`,
  ];
  const common = [`num_thread=${threads}`, "verbose=1"];
  const t0 = performance.now();
  const trained = await annexml([
    "train",
    CONFIG,
    ...files,
    ...common,
    `num_learner=${learners}`,
    ...extra,
  ]);
  const trainWall = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const predicted = await annexml(["predict", CONFIG, ...files, ...common]);
  const predictWall = (performance.now() - t1) / 1000;
  const metrics = JSON.parse(
    execFileSync(process.execPath, [BIN, "eval", result, "--json"], { encoding: "utf8" }),
  ) as Record<string, number>;
  const load = num(/Done: load ([\d.]+) s/, trained);
  const partition = num(/partitioning ([\d.]+) s/, trained);
  const embed = num(/embedding \+ search graphs ([\d.]+) s/, trained);
  const row: Row = {
    n,
    load,
    partition,
    embed,
    other: Math.max(trainWall - load - partition - embed, 0),
    train: trainWall,
    predict: predictWall,
    trainPeakMb: num(/peak RSS (\d+) MB/, trained),
    predictPeakMb: num(/peak RSS (\d+) MB/, predicted),
    modelMb: num(/model \S+ ([\d.]+) MB/, trained),
    p1: 100 * metrics["P@1"],
    p3: 100 * metrics["P@3"],
    p5: 100 * metrics["P@5"],
  };
  if (baselineRows > 0) row.knnP1 = await knnBaseline(train, test, 10, baselineRows);
  rows.push(row);
  console.error(JSON.stringify(row));
}

/** Least-squares slope of log(value) on log(N): the exponent b of value ~ N^b. */
function exponent(key: keyof Row): number | null {
  const pts = rows
    .filter((r) => (r[key] as number) > 0)
    .map((r) => [Math.log(r.n), Math.log(r[key] as number)]);
  if (pts.length < 2) return null;
  const mx = pts.reduce((s, p) => s + p[0], 0) / pts.length;
  const my = pts.reduce((s, p) => s + p[1], 0) / pts.length;
  let sxy = 0;
  let sxx = 0;
  for (const [x, y] of pts) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
  }
  return +(sxy / sxx).toFixed(2);
}

const PHASES = ["load", "partition", "embed", "other", "predict", "train"] as const;

/** A log-log plot of seconds per phase against N. */
function svg(): string {
  const W = 640;
  const H = 420;
  const m = { l: 60, r: 130, t: 30, b: 50 };
  const xs = rows.map((r) => r.n);
  const ys = rows.flatMap((r) => PHASES.map((p) => r[p])).filter((v) => v > 0);
  const lx = (v: number) => Math.log10(v);
  const [x0, x1] = [lx(Math.min(...xs)) - 0.05, lx(Math.max(...xs)) + 0.05];
  const [y0, y1] = [Math.floor(lx(Math.min(...ys))), Math.ceil(lx(Math.max(...ys)))];
  const px = (v: number) => m.l + ((lx(v) - x0) / (x1 - x0 || 1)) * (W - m.l - m.r);
  const py = (v: number) => H - m.b - ((lx(v) - y0) / (y1 - y0 || 1)) * (H - m.t - m.b);
  const colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#d62728", "#444444"];
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<title>annexml seconds per phase vs training rows, log-log</title>`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="18" text-anchor="middle">annexml seconds per phase vs training rows (log-log; ${learners} learner${learners > 1 ? "s" : ""}, ${threads} thread${threads > 1 ? "s" : ""})</text>`,
  ];
  for (let e = y0; e <= y1; e++) {
    const y = py(10 ** e);
    out.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${y}" y2="${y}" stroke="#ddd"/>`);
    out.push(`<text x="${m.l - 6}" y="${y + 4}" text-anchor="end">${10 ** e} s</text>`);
  }
  for (const n of xs) {
    const x = px(n);
    out.push(`<line x1="${x}" x2="${x}" y1="${m.t}" y2="${H - m.b}" stroke="#eee"/>`);
    out.push(`<text x="${x}" y="${H - m.b + 16}" text-anchor="middle">${n / 1000}K</text>`);
  }
  out.push(
    `<text x="${(m.l + W - m.r) / 2}" y="${H - 10}" text-anchor="middle">training rows N</text>`,
  );
  PHASES.forEach((phase, i) => {
    const pts = rows
      .filter((r) => r[phase] > 0)
      .map((r) => `${px(r.n).toFixed(1)},${py(r[phase]).toFixed(1)}`);
    if (pts.length === 0) return;
    const c = colours[i];
    out.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${pts.join(" ")}"/>`);
    for (const p of pts) {
      const [x, y] = p.split(",");
      out.push(`<circle cx="${x}" cy="${y}" r="3" fill="${c}"/>`);
    }
    const b = exponent(phase);
    out.push(
      `<text x="${W - m.r + 10}" y="${m.t + 20 + 18 * i}" fill="${c}">${phase}${b === null ? "" : ` N^${b}`}</text>`,
    );
  });
  out.push("</svg>");
  return out.join("\n");
}

console.log(
  "N".padStart(8),
  ...[
    "load s",
    "partition s",
    "embed s",
    "other s",
    "train s",
    "predict s",
    "train MB",
    "predict MB",
    "model MB",
    "P@1",
    "P@3",
    "P@5",
    "kNN P@1",
  ].map((h) => h.padStart(11)),
);
for (const r of rows) {
  console.log(
    String(r.n).padStart(8),
    ...[r.load, r.partition, r.embed, r.other, r.train, r.predict].map((v) =>
      v.toFixed(1).padStart(11),
    ),
    ...[r.trainPeakMb, r.predictPeakMb, r.modelMb].map((v) => v.toFixed(0).padStart(11)),
    ...[r.p1, r.p3, r.p5].map((v) => v.toFixed(2).padStart(11)),
    (r.knnP1 === undefined ? "" : r.knnP1.toFixed(2)).padStart(11),
  );
}
const exponents = Object.fromEntries(
  [...PHASES, "trainPeakMb", "predictPeakMb", "modelMb"].map((k) => [k, exponent(k as keyof Row)]),
);
if (rows.length >= 2) console.log("exponent b of N^b:", JSON.stringify(exponents));
let svgFile: string | null = null;
if (rows.length >= 2) {
  mkdirSync(dirname(svgPath), { recursive: true });
  writeFileSync(svgPath, svg());
  svgFile = svgPath;
  console.log(`plot: ${svgPath}`);
}
console.log(
  JSON.stringify({
    learners,
    threads,
    testRows,
    extra,
    rows: rows.map((r) =>
      Object.fromEntries(
        Object.entries(r).map(([k, v]) => [k, typeof v === "number" ? +v.toFixed(3) : v]),
      ),
    ),
    exponents,
    svg: svgFile,
  }),
);
