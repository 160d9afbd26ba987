import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { evaluate } from "@annexml/eval";
import { readDataset } from "@annexml/sparse-io";
import { afterAll, describe, expect, it } from "vitest";
import { loadModel, train } from "./api.js";
import { saveModel } from "./model/files.js";
import { runCli as annexml, ROOT } from "./testing.js";

const TRAIN = join(ROOT, "data/bibtex/train.txt");
const TEST = join(ROOT, "data/bibtex/test.txt");
const dir = await mkdtemp(join(tmpdir(), "annexml-compact-model-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("compact models", () => {
  it("compact=f16 / int8: smaller files, P@1 within 0.5 points of the float32 model", async () => {
    const data = await readDataset(TRAIN);
    const test = await readDataset(TEST);
    const options = { data, numLearners: 2, embIters: 3, seed: 3 };
    const model = await train(options);
    expect(model.compact).toBe("none");
    const plain = join(dir, "f32.model");
    const plainBytes = await saveModel(model, plain);
    const p1 = (path: string) =>
      loadModel(path).then(
        (m) => evaluate(test.labels, m.predict(test.features, { k: 1 }), { k: 1 }).precision[0],
      );
    const reference = await p1(plain);
    expect(reference).toBeGreaterThan(0.4);

    const f16 = await train({ ...options, compact: "f16" });
    expect(f16.compact).toBe("f16");
    const half = join(dir, "f16.model");
    const halfBytes = await saveModel(f16, half);
    expect(halfBytes).toBeLessThan(plainBytes / 1.8);
    expect((await loadModel(half)).compact).toBe("f16");
    expect(Math.abs((await p1(half)) - reference)).toBeLessThanOrEqual(0.005);

    const int8 = join(dir, "int8.model");
    const int8Bytes = await saveModel(model, int8, { compact: "int8" });
    expect(int8Bytes).toBeLessThan(halfBytes);
    const loaded = await loadModel(int8);
    expect(loaded.compact).toBe("int8");
    expect(Math.abs((await p1(int8)) - reference)).toBeLessThanOrEqual(0.01);
    // A loaded model saves as it was stored; decoded f16 values encode back exactly.
    const again = join(dir, "again.model");
    expect(await saveModel(await loadModel(half), again)).toBe(halfBytes);
    await expect(saveModel(model, again, { compact: "f32" as never })).rejects.toThrow(
      /option 'compact' must be "none" or "f16" or "int8", but is "f32"/,
    );
  }, 180_000);

  it("annexml compact writes a smaller model that info describes; a bad --to is exit 2", async () => {
    const data = await readDataset(TRAIN);
    const model = await train({ data, numLearners: 1, embIters: 1, seed: 5 });
    const input = join(dir, "cli-in.model");
    const inBytes = await saveModel(model, input);
    for (const to of ["f16", "int8"]) {
      const output = join(dir, `cli-${to}.model`);
      const args = to === "f16" ? [input, output] : [input, output, "--to", to];
      const r = await annexml(["compact", ...args]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`${to} (from`);
      expect((await stat(output)).size).toBeLessThan(inBytes / 1.8);
      const info = await annexml(["info", output]);
      expect(info.code).toBe(0);
      expect(info.stdout).toMatch(new RegExp(`^storage: ${to} \\(sections by type: .*u16`, "m"));
      const json = JSON.parse((await annexml(["info", output, "--json"])).stdout);
      expect(json.compact).toBe(to);
    }
    expect((await annexml(["info", input])).stdout).toMatch(/^storage: float32 /m);
    const bad = await annexml(["compact", input, join(dir, "bad.model"), "--to", "f8"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(
      'annexml: option \'--to\' of compact must be "f16" or "int8", but is "f8"\n',
    );
    const help = await annexml(["compact", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--to <storage>");
  }, 120_000);

  it("compact=f16 on the command line and in the config; a bad value names the choices", async () => {
    const r = await annexml([
      "train",
      join(ROOT, "annexml-example.json"),
      "compact=f8",
      `model_file=${join(dir, "x.model")}`,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      "parameter 'compact' in the command line must be 0 or f16 or int8, but is \"f8\"",
    );
    const help = await annexml(["train", "--help"]);
    expect(help.stdout).toMatch(/compact +model storage/);
  });
});
