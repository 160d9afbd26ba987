import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONFIG, runCli } from "./testing.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "annexml-dry-run-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("annexml train: the memory estimate", () => {
  it("dry_run=1 prints the estimate and exits 0 without training or writing a model", async () => {
    const model = join(dir, "dry.model");
    const { code, stdout, stderr } = await runCli([
      "train",
      CONFIG,
      "dry_run=1",
      `model_file=${model}`,
    ]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    expect(stdout).toMatch(/^Train data: 4880 rows, 1836 distinct features, 159 distinct labels/);
    expect(stdout).toMatch(/Estimated peak memory: \d+ MB \(nodeBaseline \d+ MB, .*model \d+ MB/);
    expect(stdout).toMatch(/Estimated model size: [\d.]+ MB \(.*searchGraphs \d+ MB/);
    expect(stdout).toMatch(/Available memory \d+ MB: fits/);
    expect(await readdir(dir)).toEqual([]);
  }, 60_000);

  it("max_memory=1 fails with exit 1 and one line naming the estimate, before training", async () => {
    const model = join(dir, "small.model");
    const { code, stdout, stderr } = await runCli([
      "train",
      CONFIG,
      "max_memory=1",
      "verbose=0",
      `model_file=${model}`,
    ]);
    expect(code).toBe(1);
    expect(stdout).toBe("");
    const lines = stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /training needs an estimated \d+ MB of memory \(model \d+ MB\), more than the 1(\.0)? MB of max_memory=1: lower num_learner \(15\), emb_size \(50\)/,
    );
    expect(await readdir(dir)).toEqual([]);
  }, 60_000);
});
