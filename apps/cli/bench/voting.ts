// Voting at prediction (issue 16, step 1): every voting variant of the
// predictor on models trained ONCE per dataset and configuration (the
// example parameters, 15 learners), evaluated by prediction only. Not a test:
// `pnpm --filter @annexml/cli bench:voting [-- dataset ...] [--models DIR]
// [--configs default,kmeans1500,mincut1500] [--no-train] [--no-plot]`
// Datasets: ../shared/data when present (else the bundled data/), plus
// `synth60k` when /tmp/synth60k/s_{train,test}.txt exist (synth_xmc.py s
// 60000 10000 20000 50000 7). Models are kept in --models (default
// $TMPDIR/annexml-bench-voting) and reused; so are the figures of each
// (model, variant), in figures.json there. Prints a table; writes
// docs/voting-p1-vs-learners.svg (P@1 against the learners used, old and
// chosen default); the last line is one JSON object.
import { existsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { evaluate, evaluatePropensityScored, inversePropensities } from "@annexml/eval";
import type { PredictOptions } from "@annexml/model";
import { scoreDigits } from "@annexml/model";
import { type KnnResult, normalizeRows, readDataset } from "@annexml/sparse-io";
import { loadModel } from "../src/api.js";
import { BIN, CONFIG, DATA, figureCache, ROOT, run } from "./paths.js";

const SVG = join(ROOT, "docs/voting-p1-vs-learners.svg");

/** The original's P@1/3/5 (../shared/reference/README.md), default configuration. */
const REFERENCE: Record<string, number[]> = {
  bibtex: [59.8, 36.09, 26.31],
  delicious: [64.57, 59.0, 54.21],
  phyletic_profiles: [55.59, 48.32, 44.22],
  synth60k: [82.2, 49.96, 33.91],
};
const FILES: Record<string, [string, string]> = {
  bibtex: [join(DATA, "bibtex/train.txt"), join(DATA, "bibtex/test.txt")],
  delicious: [join(DATA, "delicious/train.txt"), join(DATA, "delicious/test.txt")],
  phyletic_profiles: [
    join(DATA, "phyletic_profiles/train.txt"),
    join(DATA, "phyletic_profiles/test.txt"),
  ],
  synth60k: ["/tmp/synth60k/s_train.txt", "/tmp/synth60k/s_test.txt"],
};
const CONFIGS: Record<string, string[]> = {
  default: [],
  kmeans1500: ["cls_type=0", "cluster_size=1500"],
  mincut1500: ["cluster_size=1500"],
};

/** The variants: predict options on top of the model's defaults. */
const VARIANTS: Record<string, PredictOptions> = {
  default: {},
  "num_nn=20": { numNeighbours: 20 },
  "num_nn=30": { numNeighbours: 30 },
  "power=1": { votePower: 1 },
  "power=2": { votePower: 2 },
  "power=4": { votePower: 4 },
  "beta=5": { voteBeta: 5 },
  "beta=10": { voteBeta: 10 },
  "beta=20": { voteBeta: 20 },
  "merge=max": { voteMerge: "max" },
  "merge=mean": { voteMerge: "mean" },
  "norm=sum": { learnerNorm: "sum" },
  "norm=sum power=2": { learnerNorm: "sum", votePower: 2 },
  "norm=max beta=10": { learnerNorm: "max", voteBeta: 10 },
  "merge=max beta=10": { voteMerge: "max", voteBeta: 10 },
  "num_nn=20 power=1": { numNeighbours: 20, votePower: 1 },
  "num_nn=20 power=2": { numNeighbours: 20, votePower: 2 },
  "num_nn=15 power=2": { numNeighbours: 15, votePower: 2 },
  "num_nn=15 beta=5": { numNeighbours: 15, voteBeta: 5 },
  "num_nn=15 beta=10": { numNeighbours: 15, voteBeta: 10 },
  "num_nn=20 beta=5": { numNeighbours: 20, voteBeta: 5 },
  "num_nn=20 beta=10": { numNeighbours: 20, voteBeta: 10 },
  "num_nn=30 beta=10": { numNeighbours: 30, voteBeta: 10 },
  "num_nn=30 beta=20": { numNeighbours: 30, voteBeta: 20 },
  "propensity=0.5": { votePropensity: 0.5 },
  "propensity=1": { votePropensity: 1 },
  "propensity=0.25": { votePropensity: 0.25 },
  "beta=10 propensity=0.5": { voteBeta: 10, votePropensity: 0.5 },
  "num_nn=20 propensity=0.5": { numNeighbours: 20, votePropensity: 0.5 },
};

const args = process.argv.slice(2).filter((a) => a !== "--");
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const modelDir = flag("--models") ?? join(tmpdir(), "annexml-bench-voting");
const configs = (flag("--configs") ?? Object.keys(CONFIGS).join(",")).split(",");
const noTrain = args.includes("--no-train");
const datasets = args.filter(
  (a, i) => !a.startsWith("--") && !["--models", "--configs"].includes(args[i - 1]),
);
const names = (datasets.length ? datasets : Object.keys(FILES)).filter((n) => {
  const ok = FILES[n] && existsSync(FILES[n][0]) && existsSync(FILES[n][1]);
  if (!ok) console.log(`skipping ${n}: no data`);
  return ok;
});
/** Figures per `dataset/config/variant`: P@1,3,5 then PSP@1,3,5 (percent), then P@1,3,5 as a result file rounds the scores. */
const { cache, save } = figureCache(modelDir);

/** The scores as `annexml predict` writes them (and `annexml eval` ranks them): `digits` decimals. */
function rounded(p: KnnResult, digits: number): KnnResult {
  const scale = 10 ** digits;
  return { ...p, scores: p.scores.map((s) => Math.round(s * scale) / scale) };
}

const pct = (a: Float64Array) => [0, 2, 4].map((i) => Math.round(a[i] * 1e4) / 100);

async function measure(name: string, config: string, todo: [string, PredictOptions][]) {
  const missing = todo.filter(([v]) => !cache[`${name}/${config}/${v}`]);
  if (missing.length === 0) return;
  const model = join(modelDir, `${name}-${config}.model`);
  if (!existsSync(model)) {
    if (noTrain) return console.log(`skipping ${name}/${config}: no model ${model}`);
    const t0 = performance.now();
    await run(process.execPath, [
      BIN,
      "train",
      CONFIG,
      `train_file=${FILES[name][0]}`,
      `model_file=${model}`,
      "num_thread=2",
      "verbose=0",
      ...CONFIGS[config],
    ]);
    console.log(`trained ${name}/${config} in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  const m = await loadModel(model);
  const [train, test] = await Promise.all([
    readDataset(FILES[name][0], { checkHeader: false }),
    readDataset(FILES[name][1], { checkHeader: false }),
  ]);
  const propensities = inversePropensities(train.labels, {
    numLabels: Math.max(train.labels.cols, test.labels.cols),
  });
  normalizeRows(test.features);
  for (const [variant, options] of missing) {
    const t0 = performance.now();
    const p = m.predict(test.features, options);
    const s = (performance.now() - t0) / 1000;
    const ranking = evaluate(test.labels, p);
    const scored = evaluatePropensityScored(test.labels, p, propensities);
    const asFile = evaluate(test.labels, rounded(p, scoreDigits(m.predictSettings(options).vote)));
    cache[`${name}/${config}/${variant}`] = [
      ...pct(ranking.precision),
      ...pct(scored.psp),
      ...pct(asFile.precision),
      Math.round(s * 100) / 100,
    ];
    save();
  }
}

const variantList = Object.entries(VARIANTS);
for (const name of names) for (const config of configs) await measure(name, config, variantList);

// The table (markdown).
console.log(
  "| dataset | config | variant | P@1 | P@3 | P@5 | PSP@1 | PSP@3 | PSP@5 | as a result file: P@1/3/5 | predict s |",
);
console.log(`|${"---|".repeat(11)}`);
for (const name of names)
  for (const config of configs)
    for (const [variant] of variantList) {
      const f = cache[`${name}/${config}/${variant}`];
      if (!f) continue;
      const cells = [name, config, variant, ...f.slice(0, 6), f.slice(6, 9).join(" / "), f[9]];
      console.log(`| ${cells.join(" | ")} |`);
    }

// The choice: a variant at least the old default's P@1, P@3 and P@5 everywhere measured, best mean P@1 gain.
const measured = names.flatMap((n) =>
  configs.filter((c) => cache[`${n}/${c}/default`]).map((c) => `${n}/${c}`),
);
let best = "default";
let bestGain = 0;
/** The best mean P@1 gain with or without the constraint (plotted when no variant qualifies). */
let bestOption = "default";
let bestOptionGain = 0;
const gains: Record<string, number> = {};
for (const [variant] of variantList) {
  let ok = measured.length > 0;
  let gain = 0;
  for (const key of measured) {
    const f = cache[`${key}/${variant}`];
    const d = cache[`${key}/default`];
    if (!f) {
      ok = false;
      break;
    }
    for (let i = 0; i < 3; i++) if (f[i] < d[i]) ok = false;
    gain += (f[0] - d[0]) / measured.length;
  }
  gains[variant] = Math.round(gain * 100) / 100;
  if (gain > bestOptionGain) {
    bestOption = variant;
    bestOptionGain = gain;
  }
  if (ok && gain > bestGain) {
    best = variant;
    bestGain = gain;
  }
}
console.log(`\nmean P@1 gain over the old default (${measured.length} dataset/configs):`);
console.log(
  Object.entries(gains)
    .map(([v, g]) => `${v} ${g >= 0 ? "+" : ""}${g}`)
    .join(", "),
);
console.log(`chosen default: ${best} (at least the old default on P@1/3/5 everywhere measured)`);
console.log(`best mean P@1 gain: ${bestOption}`);

// P@1 against the learners used, old and chosen default, default configuration.
const sweep: Record<string, Record<string, number[]>> = {};
if (!args.includes("--no-plot")) {
  // Old default and new default, or, when the default stays, the best option.
  const lines = [...new Set(["default", best === "default" ? bestOption : best])];
  for (const name of names) {
    const todo: [string, PredictOptions][] = [];
    for (const v of lines)
      for (let l = 1; l <= 15; l++) todo.push([`${v} @${l}`, { ...VARIANTS[v], numLearners: l }]);
    // The full ensemble is the variant itself.
    for (const v of lines) cache[`${name}/default/${v} @15`] ??= cache[`${name}/default/${v}`];
    await measure(name, "default", todo);
    sweep[name] = {};
    for (const v of lines) {
      const ys = [];
      for (let l = 1; l <= 15; l++) ys.push(cache[`${name}/default/${v} @${l}`]?.[0] ?? Number.NaN);
      sweep[name][v] = ys;
    }
  }
  writeFileSync(SVG, plot(sweep, lines));
  console.log(`wrote ${SVG}`);
}

/** Small multiples, one panel per dataset: P@1 (y) against learners 1..15 (x), one polyline per variant. */
function plot(data: Record<string, Record<string, number[]>>, lines: string[]): string {
  const W = 260;
  const H = 200;
  const pad = { l: 40, r: 10, t: 24, b: 34 };
  const colours = ["#888888", "#d62728"];
  const panels = Object.entries(data);
  const out: string[] = [];
  panels.forEach(([name, series], i) => {
    const all = Object.values(series)
      .flat()
      .filter((y) => Number.isFinite(y));
    const lo = Math.floor(Math.min(...all));
    const hi = Math.ceil(Math.max(...all));
    const x = (l: number) => i * W + pad.l + ((l - 1) / 14) * (W - pad.l - pad.r);
    const y = (v: number) => pad.t + (1 - (v - lo) / Math.max(hi - lo, 1)) * (H - pad.t - pad.b);
    out.push(`<text x="${i * W + W / 2}" y="14" text-anchor="middle">${name}</text>`);
    out.push(
      `<polyline fill="none" stroke="black" points="${x(1)},${y(hi)} ${x(1)},${y(lo)} ${x(15)},${y(lo)}"/>`,
    );
    for (const v of [lo, hi])
      out.push(`<text x="${x(1) - 4}" y="${y(v) + 4}" text-anchor="end">${v}</text>`);
    for (const l of [1, 5, 10, 15])
      out.push(`<text x="${x(l)}" y="${y(lo) + 14}" text-anchor="middle">${l}</text>`);
    out.push(
      `<text x="${x(8)}" y="${H - 4}" text-anchor="middle">learners used</text>`,
      `<text x="${i * W + 10}" y="${H / 2}" transform="rotate(-90 ${i * W + 10} ${H / 2})" text-anchor="middle">P@1 (%)</text>`,
    );
    lines.forEach((v, j) => {
      const pts = series[v]
        .map((p, l) => (Number.isFinite(p) ? `${x(l + 1).toFixed(1)},${y(p).toFixed(1)}` : ""))
        .filter(Boolean)
        .join(" ");
      out.push(`<polyline fill="none" stroke="${colours[j]}" stroke-width="1.5" points="${pts}"/>`);
    });
  });
  const legend = lines.map(
    (v, j) =>
      `<text x="${10 + j * 260}" y="${H + 16}" fill="${colours[j]}">${j === 0 ? "default (one vote per neighbour)" : `${best === "default" ? "best option" : "new default"}: ${v}`}</text>`,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W * panels.length}" height="${H + 24}" font-family="sans-serif" font-size="11" role="img">\n<title>P@1 against the number of learners used at prediction, per dataset</title>\n<rect width="100%" height="100%" fill="white"/>\n${[...out, ...legend].join("\n")}\n</svg>\n`;
}

const headline: Record<string, unknown> = {
  chosen: best,
  meanP1Gain: Math.round(bestGain * 100) / 100,
  bestOption,
  bestOptionMeanP1Gain: Math.round(bestOptionGain * 100) / 100,
  measured,
};
for (const name of names) {
  const d = cache[`${name}/default/default`];
  const b = cache[`${name}/default/${best}`];
  const o = cache[`${name}/default/${bestOption}`];
  if (d)
    headline[name] = {
      original: REFERENCE[name],
      old: d.slice(0, 6),
      new: b?.slice(0, 6),
      bestOption: o?.slice(0, 6),
    };
}
headline.sweep = sweep;
console.log(JSON.stringify(headline));
