import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, runCli } from "./testing.js";

const FIXTURES = join(ROOT, "packages/eval/fixtures/bibtex");
const TRAIN = join(ROOT, "data/bibtex/train.txt");

/** Runs the built `annexml` binary; resolves with stdout, stderr and the exit code. */
/** Runs the built `annexml`; resolves with stdout, stderr and the exit code. */
const annexml = (...args: string[]) => runCli(args);

describe("annexml eval", () => {
  for (const kind of ["graph", "bruteforce"]) {
    it(`prints the reference scripts' lines for result-${kind}.txt`, async () => {
      const metrics = await readFile(join(FIXTURES, `result-${kind}.metrics.txt`), "utf8");
      const ps = await readFile(join(FIXTURES, `result-${kind}.psmetrics.txt`), "utf8");
      const psAB = await readFile(join(FIXTURES, `result-${kind}.psmetrics-A0.5-B0.4.txt`), "utf8");
      const plain = await annexml("eval", join(FIXTURES, `result-${kind}.txt`));
      expect(plain).toMatchObject({ code: 0, stderr: "" });
      expect(plain.stdout).toBe(metrics);
      const scored = await annexml("eval", join(FIXTURES, `result-${kind}.txt`), "--train", TRAIN);
      expect(scored.stdout).toBe(metrics + ps.split("\n").slice(1).join("\n"));
      const other = await annexml(
        "eval",
        join(FIXTURES, `result-${kind}.txt`),
        "--train",
        TRAIN,
        "-A",
        "0.5",
        "-B",
        "0.4",
      );
      expect(other.stdout).toBe(metrics + psAB.split("\n").slice(1).join("\n"));
    });
  }

  it("prints JSON with --json", async () => {
    const { stdout, code } = await annexml(
      "eval",
      join(FIXTURES, "result-graph.txt"),
      "--json",
      "--k",
      "3",
    );
    expect(code).toBe(0);
    const json = JSON.parse(stdout);
    expect(json.samples).toBe(2515);
    expect(json["P@1"].toFixed(6)).toBe("0.598012");
    expect(json["nDCG@3"].toFixed(6)).toBe("0.551517");
    expect(json["P@4"]).toBeUndefined();
  });

  it("evaluates against a train file with label-less rows (delicious)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "annexml-cli-"));
    const result = join(dir, "result.txt");
    // Row 1 has no true labels; row 2 has no predictions.
    await writeFile(result, "1,2\t1:3.0,5:2.0\n\t7:1.0\n3\t\n");
    const { stdout, code } = await annexml(
      "eval",
      result,
      "--train",
      join(ROOT, "data/delicious/train.txt"),
    );
    expect(code).toBe(0);
    expect(stdout).toContain("#samples=3\nP@1=0.333333\n");
    expect(stdout).toMatch(/PSP@1=\d\.\d{6}\n/);
  });

  it("fails with one line naming the file and line on a malformed result file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "annexml-cli-"));
    const result = join(dir, "bad.txt");
    await writeFile(result, "1\t2:1.0\n1\t2:x\n");
    const { stderr, code } = await annexml("eval", result);
    expect(code).toBe(1);
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr).toMatch(new RegExp(`^annexml: ${result}:2:\\d+: `));
  });

  it("exits 2 on a usage error and 1 on a missing file", async () => {
    expect((await annexml("eval", join(FIXTURES, "result-graph.txt"), "--k", "0")).code).toBe(2);
    expect((await annexml("eval")).code).toBe(2);
    const missing = await annexml("eval", "/nonexistent/result.txt");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(
      "annexml: /nonexistent/result.txt: cannot read file (no such file)\n",
    );
  });
});

describe("annexml stats", () => {
  it("summarises the bundled bibtex train file", async () => {
    const { stdout, code } = await annexml("stats", TRAIN, "--json");
    expect(code).toBe(0);
    const s = JSON.parse(stdout);
    expect(s).toMatchObject({
      rows: 4880,
      features: 1836,
      labels: 159,
      nnz: 334250,
      maxLabelsPerRow: 28,
      rowsWithoutLabels: 0,
      rowsWithoutFeatures: 0,
      distinctLabelsUsed: 159,
      header: { rows: 4880, features: 1836, labels: 159 },
    });
    expect(s.meanLabelsPerRow.toFixed(3)).toBe("2.380");
    expect(s.meanFeaturesPerRow.toFixed(2)).toBe("68.49");
    expect(s.megabytesPerSecond).toBeGreaterThan(0);
    const text = await annexml("stats", TRAIN);
    expect(text.stdout).toContain("rows: 4880\n");
    expect(text.stdout).toContain("labels per row: mean 2.380, max 28\n");
  });

  it("reports a bad data file with file, line and column, and exits 1", async () => {
    const dir = await mkdtemp(join(tmpdir(), "annexml-cli-"));
    const file = join(dir, "bad.txt");
    await writeFile(file, "2 4 3\n0 1:1\n1 3\n");
    const { stderr, code } = await annexml("stats", file);
    expect(code).toBe(1);
    expect(stderr).toBe(`annexml: ${file}:3:3: feature must be index:value, but has no ':': "3"\n`);
  });
});

describe("annexml --help", () => {
  it("lists the commands", async () => {
    const { stdout, code } = await annexml("--help");
    expect(code).toBe(0);
    expect(stdout).toContain("eval [options] <result-file>");
    expect(stdout).toContain("stats [options] <data-file>");
  });
});
