// End-to-end benchmark of `annexml train` + `annexml predict` against the
// original C++ AnnexML's figures (../shared/reference/README.md), on the
// shared datasets when present (else the bundled ones). Not a test:
// `pnpm --filter @annexml/cli bench [-- dataset ...] [--per-sample] [--variants]`
// (--per-sample: also anchor_step=0, the original's update; --variants: also
// cls_type=0 and cluster_size=1500).
// Prints a table; the last line is one JSON object.
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN, CONFIG, DATA, run } from "./paths.js";

/** The original's figures: train s, train MiB, predict s, predict MiB, P@1/3/5 (percent). */
const REFERENCE: Record<
  string,
  { train: number; trainMb: number; predict: number; predictMb: number; p: number[] }
> = {
  bibtex: { train: 27.6, trainMb: 42, predict: 3.37, predictMb: 99, p: [59.8, 36.09, 26.31] },
  delicious: { train: 75.2, trainMb: 73, predict: 9.6, predictMb: 221, p: [64.57, 59.0, 54.21] },
  phyletic_profiles: {
    train: 199.8,
    trainMb: 131,
    predict: 10.77,
    predictMb: 221,
    p: [55.59, 48.32, 44.22],
  },
};

const args = process.argv.slice(2).filter((a) => a !== "--");
const withVariants = args.includes("--variants");
const withPerSample = args.includes("--per-sample");
const datasets = args.filter((a) => !a.startsWith("--"));
const names = datasets.length ? datasets : Object.keys(REFERENCE);
const variants: [string, string[]][] = [["example", []]];
if (withPerSample) variants.push(["anchor_step=0", ["anchor_step=0"]]);
if (withVariants)
  variants.push(["cls_type=0", ["cls_type=0"]], ["cluster_size=1500", ["cluster_size=1500"]]);

const dir = mkdtempSync(join(tmpdir(), "annexml-bench-"));

/** Runs the CLI, returning wall seconds and the peak RSS it reports. */
async function timed(
  command: string,
  extra: string[],
): Promise<{ seconds: number; peakMb: number; stderr: string }> {
  const t0 = performance.now();
  const { stderr } = await run(process.execPath, [BIN, command, CONFIG, ...extra], {
    encoding: "utf8",
    maxBuffer: 1 << 26,
  });
  const seconds = (performance.now() - t0) / 1000;
  const peak = /peak RSS (\d+) MB/.exec(stderr);
  return { seconds, peakMb: peak ? Number(peak[1]) : Number.NaN, stderr };
}

const rows: Record<string, string | number>[] = [];
const summary: Record<string, Record<string, number | boolean>> = {};
for (const name of names) {
  const train = join(DATA, name, "train.txt");
  const test = join(DATA, name, "test.txt");
  if (!existsSync(train)) {
    console.log(`skipping ${name}: ${train} not found`);
    continue;
  }
  for (const [variant, extra] of variants) {
    const model = join(dir, `${name}-${variant}.model`);
    const result = join(dir, `${name}-${variant}.result`);
    const files = [
      `train_file=${train}`,
      `predict_file=${test}`,
      `model_file=${model}`,
      `result_file=${result}`,
    ];
    const t = await timed("train", [...files, "num_thread=2", ...extra]);
    const p = await timed("predict", [...files, "num_thread=2"]);
    const { stdout } = await run(process.execPath, [BIN, "eval", result, "--json"], {
      encoding: "utf8",
    });
    const metrics = JSON.parse(stdout) as Record<string, number>;
    const precision = [1, 3, 5].map((k) => 100 * metrics[`P@${k}`]);
    const ref = REFERENCE[name];
    // Every variant is held to the main reference figures (the original's K = 3
    // figures on bibtex are lower, so this is the stricter bar).
    const refP = ref?.p;
    const tolerance = variant === "example" || variant === "anchor_step=0" ? 1 : 2;
    const accuracyOk = refP ? precision.every((v, i) => v >= refP[i] - tolerance) : true;
    const key = variant === "example" ? name : `${name} ${variant}`;
    summary[key] = {
      trainSec: +t.seconds.toFixed(1),
      predictSec: +p.seconds.toFixed(2),
      trainPeakMb: t.peakMb,
      predictPeakMb: p.peakMb,
      p1: +precision[0].toFixed(2),
      p3: +precision[1].toFixed(2),
      p5: +precision[2].toFixed(2),
      ...(refP ? { accuracyOk } : {}),
      ...(ref && variant === "example"
        ? {
            trainVsReference: +(t.seconds / ref.train).toFixed(2),
            predictVsReference: +(p.seconds / ref.predict).toFixed(2),
            trainMemoryVsReference: +(t.peakMb / ref.trainMb).toFixed(2),
            predictMemoryVsReference: +(p.peakMb / ref.predictMb).toFixed(2),
          }
        : {}),
    };
    rows.push({
      dataset: key,
      "train s": +t.seconds.toFixed(1),
      "ref train s": variant === "example" ? (ref?.train ?? "") : "",
      "predict s": +p.seconds.toFixed(2),
      "ref predict s": variant === "example" ? (ref?.predict ?? "") : "",
      "train peak MB": t.peakMb,
      "predict peak MB": p.peakMb,
      "P@1": +precision[0].toFixed(2),
      "P@3": +precision[1].toFixed(2),
      "P@5": +precision[2].toFixed(2),
      "ref P@1/3/5": refP ? refP.join(" / ") : "",
    });
    const phases = /Done: (.*); model/.exec(t.stderr);
    console.log(
      `${key}: ${phases ? `${phases[1]}; ` : ""}train ${t.seconds.toFixed(1)} s, predict ${p.seconds.toFixed(2)} s, P@1/3/5 ${precision.map((v) => v.toFixed(2)).join(" / ")}`,
    );
  }
}
console.table(rows);
console.log(
  "goals: P@k >= reference - 1 point (variants: - 2), train s <= reference, predict s <= reference / 2, peak memory <= 1.5x reference",
);
console.log(JSON.stringify(summary));
