// The label re-ranker (issue 16, step 2): `rerank=1` models trained once per
// dataset (the example parameters, 15 learners), evaluated by prediction.
// Not a test:
// `pnpm --filter @annexml/cli bench:rerank [-- dataset ...] [--models DIR]
// [--no-train] [--no-bonsai] [--no-plot] [--no-cli]`
// The re-ranked variant reported against Bonsai is the default
// (rerank_cost 0.3, rerank_weight 0.5, rerank_shortlist 10: chosen on the
// held-out 20% of bibtex's and delicious's train, see the README); the
// others are shown for comparison. A model with a re-ranker predicts as
// without one at `rerankWeight: 0`, so the "vote" rows are the same model.
// Prints a table (P@1/3/5, PSP@1/3/5), train s and model MB with and
// without the re-ranker, CLI predict s with and without, Bonsai's figures
// when ../shared/peers/bonsai exists; writes docs/rerank-p1-vs-learners.svg
// (P@1 against the learners used); the last line is one JSON object.
import { existsSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { evaluate, evaluatePropensityScored, inversePropensities } from "@annexml/eval";
import { AnnexmlModel, type PredictOptions } from "@annexml/model";
import { normalizeRows, readDataset } from "@annexml/sparse-io";
import { loadModel } from "../src/api.js";
import { BIN, CONFIG, DATA, figureCache, ROOT, run } from "./paths.js";

const SVG = join(ROOT, "docs/rerank-p1-vs-learners.svg");
const BONSAI = join(ROOT, "../shared/peers/bonsai/run.sh");

/** The original's P@1/3/5 and CLI predict s (README), default configuration. */
const REFERENCE: Record<string, { p: number[]; predictS: number }> = {
  bibtex: { p: [59.8, 36.09, 26.31], predictS: 3.37 },
  delicious: { p: [64.57, 59.0, 54.21], predictS: 9.6 },
  phyletic_profiles: { p: [55.59, 48.32, 44.22], predictS: 10.77 },
};
const NAMES = Object.keys(REFERENCE);

/** The vote variants (no re-ranking) and the re-ranker grid (chosen on the held-out rows). */
const STEP1: PredictOptions = { numNeighbours: 15, votePower: 2 };
const VARIANTS: Record<string, PredictOptions> = {
  vote: { rerankWeight: 0 },
  "vote num_nn=15 power=2": { ...STEP1, rerankWeight: 0 },
  rerank: {},
  "rerank num_nn=15 power=2": { ...STEP1 },
  "rerank C=20": { rerankShortlist: 20 },
  "rerank C=50": { rerankShortlist: 50 },
  "rerank a=0.3": { rerankWeight: 0.3 },
  "rerank a=0.7": { rerankWeight: 0.7 },
};
/** The re-ranked variant reported against Bonsai: the defaults. */
const CHOSEN = "rerank";

const args = process.argv.slice(2).filter((a) => a !== "--");
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const modelDir = flag("--models") ?? join(tmpdir(), "annexml-bench-rerank");
const noTrain = args.includes("--no-train");
const datasets = args.filter((a, i) => !a.startsWith("--") && args[i - 1] !== "--models");
const names = (datasets.length ? datasets : NAMES).filter((n) => {
  const ok = existsSync(join(DATA, n, "train.txt")) && existsSync(join(DATA, n, "test.txt"));
  if (!ok) console.log(`skipping ${n}: no data`);
  return ok;
});
/** Figures by key: P@1,3,5, PSP@1,3,5 (percent); or other numbers by key. */
const { cache, save } = figureCache(modelDir);
const pct = (a: Float64Array) => [0, 2, 4].map((i) => Math.round(a[i] * 1e4) / 100);
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

/** Trains `rerank=1` on `train` into `model` (once); returns train s in total and of the re-ranker. */
async function trainOnce(key: string, train: string, model: string): Promise<number[] | null> {
  if (!existsSync(model)) {
    if (noTrain) return null;
    const { stderr } = await run(process.execPath, [
      BIN,
      "train",
      CONFIG,
      `train_file=${train}`,
      `model_file=${model}`,
      "num_thread=2",
      "verbose=1",
      "rerank=1",
    ]);
    const total = Number(/total ([\d.]+) s/.exec(stderr)?.[1] ?? Number.NaN);
    const rerank = Number(/Re-ranker: .*\(([\d.]+) s\)/.exec(stderr)?.[1] ?? Number.NaN);
    cache[`${key}/train`] = [total, rerank];
    save();
    console.log(`trained ${key} in ${total} s (re-ranker ${rerank} s)`);
  }
  return cache[`${key}/train`] ?? null;
}

async function measure(key: string, trainFile: string, testFile: string, model: string) {
  const todo = Object.entries(VARIANTS).filter(([v]) => !cache[`${key}/${v}`]);
  const curve = !args.includes("--no-plot") && key.endsWith("/test");
  if (todo.length === 0 && (!curve || cache[`${key}/curve/vote`])) return;
  const m = await loadModel(model);
  const [train, test] = await Promise.all([
    readDataset(trainFile, { checkHeader: false }),
    readDataset(testFile, { checkHeader: false }),
  ]);
  const propensities = inversePropensities(train.labels, {
    numLabels: Math.max(train.labels.cols, test.labels.cols),
  });
  normalizeRows(test.features);
  for (const [variant, options] of todo) {
    const p = m.predict(test.features, options);
    const ranking = evaluate(test.labels, p);
    const scored = evaluatePropensityScored(test.labels, p, propensities);
    cache[`${key}/${variant}`] = [...pct(ranking.precision), ...pct(scored.psp)];
    save();
  }
  if (!curve) return;
  for (const [line, options] of Object.entries(curveLines())) {
    if (cache[`${key}/curve/${line}`]) continue;
    const p1: number[] = [];
    for (let l = 1; l <= m.numLearners; l++) {
      const p = m.predict(test.features, { ...options, numLearners: l });
      p1.push(pct(evaluate(test.labels, p).precision)[0]);
    }
    cache[`${key}/curve/${line}`] = p1;
    save();
  }
}

function curveLines(): Record<string, PredictOptions> {
  return {
    vote: VARIANTS.vote,
    "vote num_nn=15 power=2": VARIANTS["vote num_nn=15 power=2"],
    [CHOSEN]: VARIANTS[CHOSEN],
  };
}

/** CLI predict wall s (2 threads) with `extra`; the median of 3. */
async function cliPredict(model: string, test: string, extra: string[]): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    await run(process.execPath, [
      BIN,
      "predict",
      CONFIG,
      `model_file=${model}`,
      `predict_file=${test}`,
      `result_file=${join(modelDir, "result.txt")}`,
      "num_thread=2",
      "verbose=0",
      ...extra,
    ]);
    times.push((performance.now() - t0) / 1000);
  }
  return times.sort((a, b) => a - b)[1];
}

const sizes: Record<string, number[]> = {};
const chosen = CHOSEN;
for (const name of names) {
  const trainFile = join(DATA, name, "train.txt");
  const testFile = join(DATA, name, "test.txt");
  const model = join(modelDir, `${name}.model`);
  if (!(await trainOnce(`${name}/test`, trainFile, model))) continue;
  await measure(`${name}/test`, trainFile, testFile, model);
  const m = await loadModel(model);
  const without = new AnnexmlModel(m.info, m.trainLabels, m.learners, m.ids, m.labelNames, null);
  without.compact = m.compact;
  sizes[name] = [statSync(model).size / 1e6, without.toBytes().length / 1e6];
  if (!args.includes("--no-cli") && chosen && !cache[`${name}/predictS`]) {
    cache[`${name}/predictS`] = [
      await cliPredict(model, testFile, ["rerank_weight=0"]),
      await cliPredict(model, testFile, []),
    ];
    save();
  }
  if (!args.includes("--no-bonsai") && existsSync(BONSAI) && !cache[`${name}/bonsai`]) {
    const { stdout } = await run(
      "bash",
      [BONSAI, dirname(trainFile), join(modelDir, "bonsai", name)],
      {
        maxBuffer: 1 << 26,
      },
    );
    const b = JSON.parse(stdout.trim().split("\n").pop() ?? "{}");
    // run.sh prints fractions; the table is in percent.
    cache[`${name}/bonsai`] = [100 * b.p1, 100 * b.p3, 100 * b.p5, b.trainSec, b.predictSec];
    save();
  }
}

console.log("| dataset | split | variant | P@1 | P@3 | P@5 | PSP@1 | PSP@3 | PSP@5 |");
console.log(`|${"---|".repeat(9)}`);
for (const name of names)
  for (const variant of Object.keys(VARIANTS)) {
    const f = cache[`${name}/test/${variant}`];
    if (f) console.log(`| ${[name, "test", variant, ...f].join(" | ")} |`);
  }

console.log(
  "\n| dataset | vote P@1/3/5 | re-ranked P@1/3/5 | Bonsai P@1/3/5 | train s: without / re-ranker / Bonsai | model MB: without / with | CLI predict s: vote / re-ranked / original |",
);
console.log(`|${"---|".repeat(7)}`);
const summary: Record<string, unknown> = { chosen };
for (const name of names) {
  const v = cache[`${name}/test/vote`];
  const r = cache[`${name}/test/${chosen}`];
  const t = cache[`${name}/test/train`];
  if (!v || !t) continue;
  const b = cache[`${name}/bonsai`];
  const s = sizes[name] ?? [];
  const ps = cache[`${name}/predictS`] ?? [];
  const cells = [
    name,
    v.slice(0, 3).join(" / "),
    r ? r.slice(0, 3).join(" / ") : "",
    b
      ? b
          .slice(0, 3)
          .map((x) => round(x))
          .join(" / ")
      : "",
    `${round(t[0] - t[1], 1)} / +${round(t[1], 1)} / ${b ? round(b[3], 1) : ""}`,
    `${round(s[1] ?? 0, 1)} / ${round(s[0] ?? 0, 1)}`,
    `${round(ps[0] ?? 0)} / ${round(ps[1] ?? 0)} / ${REFERENCE[name].predictS}`,
  ];
  console.log(`| ${cells.join(" | ")} |`);
  summary[name] = {
    vote: v,
    rerank: r,
    bonsai: b,
    trainS: t[0],
    rerankTrainS: t[1],
    modelMb: s[0],
    modelMbWithout: s[1],
    predictS: ps,
  };
}

// P@1 against the learners used (1..15), one panel per dataset.
if (!args.includes("--no-plot")) {
  const panels = names.filter((n) => cache[`${n}/test/curve/vote`]);
  if (panels.length > 0) {
    const lines = Object.keys(curveLines());
    const colours = ["#888", "#1f77b4", "#d62728"];
    const w = 300;
    const h = 220;
    const parts: string[] = [];
    panels.forEach((name, i) => {
      const x0 = i * w + 45;
      const series = lines.map((l) => cache[`${name}/test/curve/${l}`] ?? []);
      const all = series.flat();
      const lo = Math.floor(Math.min(...all));
      const hi = Math.ceil(Math.max(...all));
      const px = (l: number) => x0 + ((l - 1) / 14) * (w - 60);
      const py = (p: number) => 30 + (1 - (p - lo) / Math.max(hi - lo, 1)) * (h - 70);
      parts.push(
        `<text x="${x0 + (w - 60) / 2}" y="18" text-anchor="middle">${name}</text>`,
        `<line x1="${x0}" y1="${py(lo)}" x2="${px(15)}" y2="${py(lo)}" stroke="#000"/>`,
        `<line x1="${x0}" y1="${py(lo)}" x2="${x0}" y2="${py(hi)}" stroke="#000"/>`,
        `<text x="${x0 - 4}" y="${py(lo)}" text-anchor="end">${lo}</text>`,
        `<text x="${x0 - 4}" y="${py(hi) + 8}" text-anchor="end">${hi}</text>`,
        `<text x="${x0}" y="${py(lo) + 14}" text-anchor="middle">1</text>`,
        `<text x="${px(15)}" y="${py(lo) + 14}" text-anchor="middle">15</text>`,
        `<text x="${x0 + (w - 60) / 2}" y="${py(lo) + 28}" text-anchor="middle">learners used</text>`,
      );
      series.forEach((s, j) => {
        const pts = s.map((p, l) => `${px(l + 1).toFixed(1)},${py(p).toFixed(1)}`).join(" ");
        parts.push(
          `<polyline fill="none" stroke="${colours[j]}" stroke-width="1.5" points="${pts}"/>`,
        );
      });
    });
    lines.forEach((l, j) => {
      parts.push(
        `<text x="${45 + j * 260}" y="${h + 10}" fill="${colours[j]}">${l === "vote" ? "vote (old default)" : l}</text>`,
      );
    });
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${panels.length * w}" height="${h + 20}" font-family="sans-serif" font-size="11">\n<title>P@1 on test against the learners used at prediction: vote, vote num_nn=15 vote_power=2, re-ranked (defaults)</title>\n<text x="4" y="${h / 2}" transform="rotate(-90 10 ${h / 2})">P@1 (test)</text>\n${parts.join("\n")}\n</svg>\n`;
    writeFileSync(SVG, svg);
    console.log(`\nwrote ${SVG}`);
  }
}
console.log(JSON.stringify(summary));
