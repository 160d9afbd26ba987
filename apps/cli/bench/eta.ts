// How truthful the progress ETA is: trains on the shared datasets (else the
// bundled ones) through the programmatic trainer with a progress listener,
// and compares, per phase, the predicted remaining time when 10%, 50% and
// 90% of the phase's work is done with the actual remaining time (measured
// at the phase's end). Not a test:
// `pnpm --filter @annexml/cli bench:eta [-- dataset ...] [--phyletic] [--threads=N]`
// (bibtex runs with cluster_size=1500, so K = 3; delicious with the
// example config; phyletic_profiles, minutes long, only with --phyletic).
// Prints a table; the last line is one JSON object. Goal: every ratio
// predicted / actual within [1/1.5, 1.5].
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type AnnexmlParams, defaultParams } from "../src/config.js";
import { trainModel } from "../src/engine/trainer.js";
import { Reporter } from "../src/progress.js";
import { DATA, ROOT } from "./paths.js";

const example = JSON.parse(readFileSync(join(ROOT, "annexml-example.json"), "utf8"));

const args = process.argv.slice(2).filter((a) => a !== "--");
const threadsArg = args.find((a) => a.startsWith("--threads="));
const threads = threadsArg ? Number(threadsArg.slice(10)) : example.num_thread;
const named = args.filter((a) => !a.startsWith("--"));
const runs: [string, Partial<AnnexmlParams>][] = [
  ["bibtex", { cluster_size: 1500 }],
  ["delicious", {}],
];
if (args.includes("--phyletic")) runs.push(["phyletic_profiles", {}]);
const chosen = named.length ? runs.filter(([name]) => named.includes(name)) : runs;

const MARKS = [0.1, 0.5, 0.9];

interface Row {
  dataset: string;
  phase: string;
  seconds: number;
  /** Per mark: predicted and actual seconds left, and their ratio. */
  marks: { at: number; predicted: number; actual: number; ratio: number }[];
}

const rows: Row[] = [];
for (const [name, extra] of chosen) {
  const file = join(DATA, name, "train.txt");
  if (!existsSync(file)) {
    console.error(`skipping ${name}: no ${file}`);
    continue;
  }
  // Per phase: the first update at or past each mark (time, ETA), then the end.
  const seen = new Map<string, { start: number; hits: ({ t: number; eta: number } | null)[] }>();
  // A phase ends at its first update of fraction 1 (all its work done); later ones are its last ticks.
  const ended = new Set<string>();
  const phaseRows: Row[] = [];
  const reporter = new Reporter({
    verbose: 0,
    onUpdate(phase, fraction, eta) {
      const t = performance.now() / 1000;
      if (ended.has(phase)) return;
      let p = seen.get(phase);
      if (!p) {
        p = { start: t, hits: MARKS.map(() => null) };
        seen.set(phase, p);
      }
      if (fraction >= 1) {
        ended.add(phase);
        phaseRows.push({
          dataset: name,
          phase,
          seconds: t - p.start,
          marks: MARKS.map((at, i) => {
            const hit = p.hits[i];
            const actual = hit ? t - hit.t : Number.NaN;
            const predicted = hit ? hit.eta : Number.NaN;
            return { at, predicted, actual, ratio: predicted / actual };
          }),
        });
        seen.delete(phase);
        return;
      }
      MARKS.forEach((at, i) => {
        if (p.hits[i] === null && fraction >= at) p.hits[i] = { t, eta };
      });
    },
  });
  const params: AnnexmlParams = {
    ...defaultParams(),
    ...example,
    ...extra,
    num_thread: threads,
    verbose: 0,
    train_file: file,
  };
  const { timings } = await trainModel(params, reporter);
  console.error(`${name}: trained in ${timings.total.toFixed(1)} s`);
  rows.push(...phaseRows);
}

const f = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : "-");
const r = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : "-");
console.log(
  `| dataset | phase | phase s | ${MARKS.map((m) => `at ${100 * m}%: ETA / actual s (ratio)`).join(" | ")} |`,
);
console.log(`|---|---|---:|${MARKS.map(() => "---:").join("|")}|`);
for (const row of rows) {
  console.log(
    `| ${row.dataset} | ${row.phase} | ${f(row.seconds)} | ${row.marks
      .map((m) => `${f(m.predicted)} / ${f(m.actual)} (${r(m.ratio)})`)
      .join(" | ")} |`,
  );
}
const ratios = rows.flatMap((row) => row.marks.map((m) => m.ratio)).filter(Number.isFinite);
const worst = ratios.reduce((w, x) => Math.max(w, x, 1 / x), 1);
console.log(
  JSON.stringify({
    bench: "eta",
    threads,
    worstRatio: Number(worst.toFixed(3)),
    withinGoal: worst <= 1.5,
    rows: rows.map((row) => ({
      dataset: row.dataset,
      phase: row.phase,
      seconds: Number(row.seconds.toFixed(2)),
      marks: row.marks.map((m) => ({
        at: m.at,
        predicted: Number(m.predicted.toFixed(2)),
        actual: Number(m.actual.toFixed(2)),
        ratio: Number(m.ratio.toFixed(3)),
      })),
    })),
  }),
);
