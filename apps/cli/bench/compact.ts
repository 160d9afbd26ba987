// Compact models (float16, int8 + row scales, u16 search graphs) against the
// float32 model: file size, P@1/3/5, load and predict time, peak RSS. Each
// dataset's float32 model is trained once (example parameters, 2 threads;
// reused from --models DIR when there), then `annexml compact` makes the
// others; each model is predicted and evaluated with `annexml eval --train`.
// Not a test:
// `pnpm --filter @annexml/cli bench:compact [-- dataset ...] [--models DIR] [--repeat N]`
// Prints a table; the last line is one JSON object.
import { existsSync, mkdirSync, mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeF16, encodeF16, f16ToF32 } from "@annexml/model";
import { BIN, CONFIG, ROOT, run, SHARED } from "./paths.js";

const args = process.argv.slice(2).filter((a) => a !== "--");
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args.splice(i, 2)[1] : undefined;
};
const modelsDir = flag("--models") ?? mkdtempSync(join(tmpdir(), "annexml-compact-"));
const repeat = Number(flag("--repeat") ?? 1);
mkdirSync(modelsDir, { recursive: true });
const names = args.length ? args : ["bibtex", "delicious", "phyletic_profiles"];

/** `dir/name`: the bundled copy in data/, else the shared one. */
function dataDir(name: string): string | undefined {
  return [join(ROOT, "data", name), join(SHARED, name)].find((d) =>
    existsSync(join(d, "train.txt")),
  );
}

/** Runs the CLI under /usr/bin/time: wall seconds, peak RSS (MB) and stderr. */
async function timed(
  cliArgs: string[],
): Promise<{ seconds: number; peakMb: number; stderr: string }> {
  const { stderr } = await run(
    "/usr/bin/time",
    ["-f", "TIME %e %M", process.execPath, BIN, ...cliArgs],
    { encoding: "utf8", maxBuffer: 1 << 26 },
  );
  const m = /TIME ([\d.]+) (\d+)\s*$/.exec(stderr);
  return {
    seconds: m ? Number(m[1]) : Number.NaN,
    peakMb: m ? Math.round(Number(m[2]) / 1024) : Number.NaN,
    stderr,
  };
}

/** f16 -> f32 decode throughput (M values / s): the 65536-float table against bit manipulation. */
function decodeBench(): { tableMps: number; bitsMps: number } {
  const n = 1 << 22;
  const src = encodeF16(Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 0.3));
  const out = new Float32Array(n);
  const table = () => decodeF16(src, out);
  const bits = () => {
    for (let i = 0; i < n; i++) out[i] = f16ToF32(src[i]);
  };
  // Alternating rounds, best of each (the machine may be shared).
  const best = [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY];
  for (let r = 0; r < 15; r++) {
    [table, bits].forEach((f, i) => {
      const t = performance.now();
      f();
      best[i] = Math.min(best[i], performance.now() - t);
    });
  }
  const mps = (ms: number) => +(n / ms / 1e3).toFixed(0);
  return { tableMps: mps(best[0]), bitsMps: mps(best[1]) };
}

const rows: Record<string, string | number>[] = [];
const summary: Record<string, unknown> = {};
for (const name of names) {
  const dir = dataDir(name);
  if (!dir) {
    console.log(`skipping ${name}: no train.txt in data/ or ../shared/data`);
    continue;
  }
  const train = join(dir, "train.txt");
  const test = join(dir, "test.txt");
  const f32 = join(modelsDir, `${name}.f32.model`);
  if (!existsSync(f32)) {
    console.log(`${name}: training the float32 model`);
    await timed(["train", CONFIG, `train_file=${train}`, `model_file=${f32}`, "num_thread=2"]);
  }
  const perModel: Record<string, Record<string, number>> = {};
  for (const storage of ["f32", "f16", "int8"]) {
    const model = storage === "f32" ? f32 : join(modelsDir, `${name}.${storage}.model`);
    let compactSec = 0;
    if (storage !== "f32") {
      compactSec = (await timed(["compact", f32, model, "--to", storage])).seconds;
    }
    const result = join(modelsDir, `${name}.${storage}.result`);
    let best = { seconds: Number.POSITIVE_INFINITY, peakMb: 0, load: 0 };
    for (let r = 0; r < repeat; r++) {
      const p = await timed([
        "predict",
        CONFIG,
        `model_file=${model}`,
        `predict_file=${test}`,
        `result_file=${result}`,
        "num_thread=2",
      ]);
      const load = Number(/Loaded .* in ([\d.]+) s/.exec(p.stderr)?.[1]);
      if (p.seconds < best.seconds) best = { seconds: p.seconds, peakMb: p.peakMb, load };
    }
    const { stdout } = await run(
      process.execPath,
      [BIN, "eval", result, "--train", train, "--json"],
      { encoding: "utf8" },
    );
    const metrics = JSON.parse(stdout) as Record<string, number>;
    const p = [1, 3, 5].map((k) => +(100 * metrics[`P@${k}`]).toFixed(2));
    perModel[storage] = {
      bytes: statSync(model).size,
      p1: p[0],
      p3: p[1],
      p5: p[2],
      loadSec: best.load,
      predictSec: best.seconds,
      predictPeakMb: best.peakMb,
      ...(storage === "f32" ? {} : { compactSec }),
    };
  }
  const base = perModel.f32;
  for (const [storage, m] of Object.entries(perModel)) {
    const ratio = +(base.bytes / m.bytes).toFixed(2);
    const dP1 = +(m.p1 - base.p1).toFixed(2);
    Object.assign(m, {
      sizeRatio: ratio,
      dP1,
      dP3: +(m.p3 - base.p3).toFixed(2),
      dP5: +(m.p5 - base.p5).toFixed(2),
    });
    rows.push({
      dataset: name,
      storage,
      MB: +(m.bytes / 1e6).toFixed(2),
      "f32/this": ratio,
      "P@1": m.p1,
      "P@3": m.p3,
      "P@5": m.p5,
      "dP@1/3/5": `${dP1} / ${m.dP3} / ${m.dP5}`,
      "load s": m.loadSec,
      "predict s": m.predictSec,
      "peak MB": m.predictPeakMb,
      goal: storage === "f32" ? "" : ratio >= 2 && dP1 >= -0.2 ? "met" : "missed",
    });
  }
  summary[name] = perModel;
}
const decode = decodeBench();
console.table(rows);
console.log(
  `f16 -> f32 decode: table ${decode.tableMps} M values/s, bit manipulation ${decode.bitsMps} M values/s`,
);
console.log(
  "goal: at least 2x smaller, at most 0.2 points lower P@1 (predict: 2 threads, example config)",
);
console.log(JSON.stringify({ ...summary, decode }));
