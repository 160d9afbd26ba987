// Models trained on sparse ids (remapped to dense ones inside), memory
// driven by the data and not by the ids, and version-1 model files.

import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readContainer, writeContainer } from "./model/container.js";
import { readModelFile } from "./model/files.js";
import { runCli as annexml, BIN, CONFIG, ROOT } from "./testing.js";

const FIXTURE = join(ROOT, "apps/cli/fixtures/model-v1");
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "annexml-ids-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Rows `from .. to - 1` of a bundled split, with a header, ids passed through `f` / `l`. */
async function slice(
  file: string,
  from: number,
  to: number,
  f: (id: number) => number = (id) => id,
  l: (id: number) => number = (id) => id,
): Promise<string> {
  const lines = (await readFile(join(ROOT, file), "utf8")).split("\n").slice(1 + from, 1 + to);
  const body = lines.map((line) => {
    const [labels, ...features] = line.split(" ");
    const ls =
      labels === ""
        ? ""
        : labels
            .split(",")
            .map((x) => l(Number(x)))
            .join(",");
    const fs = features.map((t) => {
      const [i, v] = t.split(":");
      return `${f(Number(i))}:${v}`;
    });
    return [ls, ...fs].join(" ");
  });
  return `${body.join("\n")}\n`;
}

/** Runs the built CLI and reports its peak RSS (from the process itself, at exit). */
function annexmlPeak(args: string[]) {
  const preload =
    'data:text/javascript,process.on("exit",()=>process.stderr.write("MAXRSS_KB "+process.resourceUsage().maxRSS+"\\n"))';
  return new Promise<{ code: number; stderr: string; peakMb: number }>((resolve) => {
    const child = spawn(process.execPath, ["--import", preload, BIN, ...args], { cwd: ROOT });
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("close", (code) => {
      const kb = Number(/MAXRSS_KB (\d+)/.exec(stderr)?.[1] ?? Number.NaN);
      resolve({
        code: code ?? -1,
        stderr: stderr.replace(/MAXRSS_KB \d+\n/, ""),
        peakMb: kb / 1024,
      });
    });
  });
}

const SMALL = ["num_learner=2", "emb_size=8", "num_edge=8", "emb_iter=2", "cls_iter=2"];
const sparseFeature = (f: number) => f * 1_000_000 + 17; // up to 1.84e9
const sparseLabel = (l: number) => l * 13_000_000 + 5; // up to 2.07e9

describe("sparse ids", () => {
  it("a model trained on sparse ids predicts exactly what the dense one does, in the original ids", async () => {
    await writeFile(join(dir, "dense.txt"), await slice("data/bibtex/train.txt", 0, 600));
    await writeFile(join(dir, "dense-test.txt"), await slice("data/bibtex/test.txt", 0, 200));
    await writeFile(
      join(dir, "sparse.txt"),
      await slice("data/bibtex/train.txt", 0, 600, sparseFeature, sparseLabel),
    );
    await writeFile(
      join(dir, "sparse-test.txt"),
      // Plus a feature the training data never had: ignored, as in the dense model.
      (await slice("data/bibtex/test.txt", 0, 200, sparseFeature, sparseLabel)).replace(
        /\n/g,
        " 2147483647:1\n",
      ),
    );
    const results: Record<string, string> = {};
    for (const kind of ["dense", "sparse"]) {
      const files = [
        `train_file=${join(dir, `${kind}.txt`)}`,
        `model_file=${join(dir, `${kind}.model`)}`,
        `predict_file=${join(dir, `${kind}-test.txt`)}`,
        "result_file=-",
        "cluster_size=200",
        "verbose=0",
      ];
      expect(await annexml(["train", CONFIG, ...SMALL, ...files])).toMatchObject({
        code: 0,
        stderr: "",
      });
      const p = await annexml(["predict", CONFIG, ...SMALL, ...files]);
      expect(p).toMatchObject({ code: 0, stderr: "" });
      results[kind] = p.stdout;
    }
    const mapped = results.dense.replace(/^([^\t]*)\t(.*)$/gm, (_, truth: string, top: string) => {
      const t =
        truth === ""
          ? ""
          : truth
              .split(",")
              .map((x) => sparseLabel(Number(x)))
              .join(",");
      const p = top.replace(/(\d+):/g, (_m: string, id: string) => `${sparseLabel(Number(id))}:`);
      return `${t}\t${p}`;
    });
    expect(results.sparse.split("\n")).toHaveLength(201);
    expect(results.sparse).toBe(mapped);
    const info = JSON.parse((await annexml(["info", join(dir, "sparse.model"), "--json"])).stdout);
    expect(info.data).toMatchObject({
      rows: 600,
      features: 1835 * 1_000_000 + 18,
      usedFeatures: expect.any(Number),
    });
    expect(info.data.usedFeatures).toBeLessThanOrEqual(1836);
    expect(info.data.usedLabels).toBeLessThanOrEqual(159);
  }, 120_000);

  it("a 2-row file with ids near 2^31 trains and predicts in tens of MB", async () => {
    const tiny = join(dir, "tiny.txt");
    await writeFile(tiny, "2000000000 2147483646:1\n7 5:1 2147483646:0.5\n");
    const files = [
      `train_file=${tiny}`,
      `predict_file=${tiny}`,
      `model_file=${join(dir, "tiny.model")}`,
      "result_file=-",
      "verbose=0",
    ];
    const stats = await annexmlPeak(["stats", tiny]);
    expect(stats.code).toBe(0);
    const t = await annexmlPeak(["train", CONFIG, ...files]);
    expect(t).toMatchObject({ code: 0, stderr: "" });
    const p = await annexmlPeak(["predict", CONFIG, ...files]);
    expect(p).toMatchObject({ code: 0, stderr: "" });
    // Node alone is ~50 MB; a dense state over 2^31 ids would be gigabytes.
    for (const run of [stats, t, p]) expect(run.peakMb).toBeLessThan(150);
    const predicted = await annexml(["predict", CONFIG, ...files]);
    expect(predicted.stdout).toMatch(/^2000000000\t(2000000000|7):/);
    // Evaluating ids near 2^31 (renumbered densely inside, same metrics).
    const result = join(dir, "tiny.result");
    await writeFile(result, predicted.stdout);
    const e = await annexmlPeak(["eval", result, "--train", tiny]);
    expect(e).toMatchObject({ code: 0 });
    expect(e.peakMb).toBeLessThan(150);
    const sameIdsDense = join(dir, "tiny-dense.result");
    await writeFile(sameIdsDense, predicted.stdout.replace(/2000000000/g, "9"));
    await writeFile(join(dir, "tiny-dense.txt"), "9 3:1\n7 5:1 3:0.5\n");
    const d = await annexml(["eval", sameIdsDense, "--train", join(dir, "tiny-dense.txt")]);
    expect((await annexml(["eval", result, "--train", tiny])).stdout).toBe(d.stdout);
  }, 120_000);
});

describe("format version 1 models", () => {
  it("load and predict what the code that wrote them predicted", async () => {
    const p = await annexml([
      "predict",
      CONFIG,
      `model_file=${join(FIXTURE, "model.bin")}`,
      `predict_file=${join(FIXTURE, "test.txt")}`,
      "result_file=-",
      "verbose=0",
    ]);
    expect(p).toMatchObject({ code: 0, stderr: "" });
    expect(p.stdout).toBe(await readFile(join(FIXTURE, "result.txt"), "utf8"));
  });

  it("are refused when a reserved byte is not zero (was: loaded and predicted)", async () => {
    const bytes = await readFile(join(FIXTURE, "model.bin"));
    bytes.writeUInt32LE(0xdeadbeef, 20);
    const bad = join(dir, "v1-reserved.bin");
    await writeFile(bad, bytes);
    const info = await annexml(["info", bad]);
    expect(info.code).toBe(1);
    expect(info.stderr).toMatch(/reserved preamble bytes 20..23 are not zero/);
  });

  it("re-save as format 2 unchanged; a label count the data cannot justify is refused before allocation", async () => {
    const v1 = await readContainer<{ arrays: { trainLabels: { cols: number } } }>(
      join(FIXTURE, "model.bin"),
    );
    expect(v1.version).toBe(1);
    const again = join(dir, "v1-as-v2.bin");
    await writeContainer(again, v1.meta, [...v1.sections]);
    const p = await annexml([
      "predict",
      CONFIG,
      `model_file=${again}`,
      `predict_file=${join(FIXTURE, "test.txt")}`,
      "result_file=-",
      "verbose=0",
    ]);
    expect(p.stdout).toBe(await readFile(join(FIXTURE, "result.txt"), "utf8"));
    // A crafted file (valid CRCs) claiming 2^31 - 1 labels: 24 GB of scratch.
    v1.meta.arrays.trainLabels.cols = 2147483647;
    const crafted = join(dir, "crafted.bin");
    await writeContainer(crafted, v1.meta, [...v1.sections]);
    const before = process.memoryUsage().arrayBuffers;
    await expect(readModelFile(crafted)).rejects.toMatchObject({
      code: "BAD_FORMAT",
      message: expect.stringMatching(/2147483647 labels for \d+ label entries/),
    });
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 << 20);
  });
});
