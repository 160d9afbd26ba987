import { access, mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runCli as annexml, CONFIG, ROOT } from "./testing.js";

// Learner shards (`learners=...`) and `annexml merge`, on bundled bibtex:
// 3 learners of K = 3 partitions, short training.
const SMALL = ["num_learner=3", "emb_iter=1", "cls_iter=2", "cluster_size=1500", "verbose=0"];

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "annexml-shards-"));
});

async function trainTo(name: string, ...args: string[]): Promise<string> {
  const file = join(dir, name);
  const r = await annexml(["train", CONFIG, ...SMALL, `model_file=${file}`, ...args]);
  if (r.code !== 0) throw new Error(`train ${name} failed (${r.code}): ${r.stderr}`);
  return file;
}

const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );

describe("learner shards and annexml merge", () => {
  let full: string;
  let a: string;
  let b: string;
  beforeAll(async () => {
    [full, a, b] = await Promise.all([
      trainTo("full.model", "num_thread=2"),
      trainTo("a.model", "learners=0,2", "num_thread=1"),
      trainTo("b.model", "learners=1", "num_thread=2"),
    ]);
  }, 300_000);

  it("merges shards into the bytes of training every learner at once, in any argument order", async () => {
    for (const order of [
      [a, b],
      [b, a],
    ]) {
      const out = join(
        dir,
        `merged-${order === undefined ? 0 : order[0] === a ? "ab" : "ba"}.model`,
      );
      const m = await annexml(["merge", ...order, "-o", out]);
      expect(m).toMatchObject({ code: 0, stderr: "" });
      expect(m.stdout).toContain("all 3 learners from 2 files");
      expect((await readFile(out)).equals(await readFile(full))).toBe(true);
    }
  }, 120_000);

  it("a shard is a model of its own: info names its learners, it predicts with them", async () => {
    const info = JSON.parse((await annexml(["info", a, "--json"])).stdout);
    expect(info).toMatchObject({ learners: 2, shard: { learners: [0, 2] } });
    expect(info.params.num_learner).toBe(3);
    expect((await annexml(["info", a])).stdout).toContain("a shard: learners 0,2 of 3");
    const result = join(dir, "a.result");
    const p = await annexml([
      "predict",
      CONFIG,
      `model_file=${a}`,
      `result_file=${result}`,
      "verbose=0",
    ]);
    expect(p).toMatchObject({ code: 0, stderr: "" });
    expect((await readFile(result, "utf8")).split("\n")).toHaveLength(2516);
    // Merging part of a run gives a larger shard, not a full model.
    const out = join(dir, "part.model");
    const m = await annexml(["merge", a, "-o", out]);
    expect(m.stdout).toContain("learners 1 missing");
    expect(JSON.parse((await annexml(["info", out, "--json"])).stdout).shard).toEqual({
      learners: [0, 2],
    });
  }, 120_000);

  it("keeps compact storage and the training diagnostics byte for byte", async () => {
    const opts = ["compact=f16", "verbose=2", "num_learner=2"];
    const [f, s0, s1] = await Promise.all([
      trainTo("f16-full.model", ...opts, "num_thread=2"),
      trainTo("f16-0.model", ...opts, "learners=0", "num_thread=1"),
      trainTo("f16-1.model", ...opts, "learners=1-1", "num_thread=1"),
    ]);
    const out = join(dir, "f16-merged.model");
    expect((await annexml(["merge", s1, s0, "-o", out])).code).toBe(0);
    expect((await readFile(out)).equals(await readFile(f))).toBe(true);
    const info = JSON.parse((await annexml(["info", out, "--json"])).stdout);
    expect(info.compact).toBe("f16");
    expect(info.trainPrecision).toHaveLength(2);
  }, 300_000);

  it("refuses shards of other parameters, data, storage or overlapping learners, writing nothing", async () => {
    const otherParams = await trainTo("emb.model", "learners=1", "emb_size=20");
    const otherData = await trainTo(
      "data.model",
      "learners=1",
      `train_file=${join(ROOT, "data/bibtex/test.txt")}`,
    );
    const otherStorage = await trainTo("int8.model", "learners=1", "compact=int8");
    const cases: [string[], RegExp][] = [
      [
        [a, otherParams],
        /emb.model cannot be merged with .*a.model: trained with emb_size=20, the other with emb_size=50/,
      ],
      [
        [a, otherData],
        /data.model cannot be merged .*: trained on other data \(rows 2515, the other 4880\)/,
      ],
      [[a, otherStorage], /int8.model cannot be merged .*: stored as i8, the other as f32/],
      [[a, a], /both hold learner 0/],
      [[a, join(ROOT, "data/bibtex/test.txt")], /test.txt/],
    ];
    for (const [inputs, message] of cases) {
      const out = join(dir, "refused.model");
      const m = await annexml(["merge", ...inputs, "-o", out]);
      expect(m.code).not.toBe(0);
      expect(m.stderr).toMatch(message);
      expect(await exists(out)).toBe(false);
    }
  }, 300_000);

  it("refuses a learners spec outside num_learner before reading the data", async () => {
    for (const [spec, why] of [
      ["3", "names learner 3"],
      ["0-1,1", "names learner 1 twice"],
      ["2-1", "empty range 2-1"],
      ["x", "'x', which is not a number"],
    ]) {
      const out = join(dir, "bad-spec.model");
      const t = await annexml(["train", CONFIG, ...SMALL, `model_file=${out}`, `learners=${spec}`]);
      expect(t.code).not.toBe(0);
      expect(t.stderr).toContain("parameter 'learners' must list learner ids in [0, 2]");
      expect(t.stderr).toContain(why);
      expect(await exists(out)).toBe(false);
    }
  }, 60_000);
});
