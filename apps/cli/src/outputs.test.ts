import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { lstat, mkdtemp, readdir, readFile, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runCli as annexml, CONFIG } from "./testing.js";

const isRoot = process.getuid?.() === 0;

let dir: string;
let model: string;
/** The result of predicting the bibtex test set into a regular file. */
let expected: string;

/** A prediction of the bundled test set with the small model into `result`. */
function predict(result: string) {
  return annexml([
    "predict",
    CONFIG,
    `model_file=${model}`,
    `result_file=${result}`,
    "num_thread=2",
    "verbose=0",
  ]);
}

async function temps(d: string): Promise<string[]> {
  return (await readdir(d)).filter((name) => name.endsWith(".tmp"));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "annexml-outputs-"));
  model = join(dir, "small.model");
  const small = ["num_learner=1", "emb_iter=1", "cls_iter=1", "num_thread=2", "verbose=0"];
  const t = await annexml(["train", CONFIG, ...small, `model_file=${model}`]);
  expect(t).toMatchObject({ code: 0, stderr: "" });
  const p = await predict(join(dir, "expected.result"));
  expect(p).toMatchObject({ code: 0, stderr: "" });
  expected = await readFile(join(dir, "expected.result"), "utf8");
  expect(expected.split("\n")).toHaveLength(2516);
}, 120_000);

describe("annexml predict result_file=<special file>", () => {
  it("streams into a named pipe: the reader gets the whole result, the FIFO stays a FIFO", async () => {
    const fifo = join(dir, "result.fifo");
    execFileSync("mkfifo", [fifo]);
    const reader = spawn("cat", [fifo], { stdio: ["ignore", "pipe", "inherit"] });
    let received = "";
    reader.stdout.on("data", (d) => {
      received += d;
    });
    const closed = new Promise<number | null>((resolve) => reader.on("close", resolve));
    const p = await predict(fifo);
    expect(p).toMatchObject({ code: 0, stderr: "" });
    expect(await closed).toBe(0);
    expect(received).toBe(expected);
    expect((await lstat(fifo)).isFIFO()).toBe(true);
    expect(await temps(dir)).toEqual([]);
  });

  it("writes /dev/stdout to stdout (here a socket, which cannot be reopened)", async () => {
    const p = await predict("/dev/stdout");
    expect(p).toMatchObject({ code: 0, stderr: "" });
    expect(p.stdout).toBe(expected);
  });

  it("replaces a symlink's target; the link stays a link", async () => {
    const link = join(dir, "result.link");
    await symlink("linked.result", link);
    const p = await predict(link);
    expect(p).toMatchObject({ code: 0, stderr: "" });
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(await readFile(join(dir, "linked.result"), "utf8")).toBe(expected);
  });

  it("fails in one line, exit 1, when the result's directory does not exist", async () => {
    const result = join(dir, "no-such-dir", "out.result");
    const p = await predict(result);
    expect(p.code).toBe(1);
    expect(p.stderr).toMatch(
      new RegExp(
        `^annexml: ${result}: cannot write file: its directory .* does not exist \\(ENOENT\\)\\n$`,
      ),
    );
    expect(existsSync(join(dir, "no-such-dir"))).toBe(false);
  });

  // Device nodes need root (CAP_MKNOD); never the real /dev/null or /dev/full.
  it.skipIf(!isRoot)("writes a null device (c 1 3) in place (root only)", async () => {
    const node = join(dir, "null");
    execFileSync("mknod", [node, "c", "1", "3"]);
    const p = await predict(node);
    expect(p).toMatchObject({ code: 0, stderr: "" });
    expect((await lstat(node)).isCharacterDevice()).toBe(true);
    expect(await temps(dir)).toEqual([]);
  });

  it.skipIf(!isRoot)(
    "exits 1 with one line on a full device (c 1 7); it stays a device (root only)",
    async () => {
      const node = join(dir, "full");
      execFileSync("mknod", [node, "c", "1", "7"]);
      const p = await predict(node);
      expect(p.code).toBe(1);
      expect(p.stderr).toBe(
        `annexml: ${node}: cannot write file: no space left on device (ENOSPC)\n`,
      );
      expect((await lstat(node)).isCharacterDevice()).toBe(true);
      expect(await temps(dir)).toEqual([]);
    },
  );
});
