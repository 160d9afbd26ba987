import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { BIN, CONFIG, ROOT, runCli } from "./testing.js";

const DELICIOUS = join(ROOT, "data/delicious/train.txt");

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "annexml-signals-"));
});

/** Starts the built `annexml` with stdin open; `done` resolves when it has exited. */
function start(args: string[]) {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  child.stdout.resume();
  const done = new Promise<{ code: number | null; signal: string | null; stderr: string }>(
    (resolve) => child.on("close", (code, signal) => resolve({ code, signal, stderr })),
  );
  return { child, done };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `test` holds (polling), failing after `ms`. */
async function until(test: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await test())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function temps(d: string): Promise<string[]> {
  return (await readdir(d)).filter((name) => name.endsWith(".tmp"));
}

/** Sends `signal` and returns how the child ended and how long it took. */
async function interrupt(
  child: ChildProcess,
  done: ReturnType<typeof start>["done"],
  signal: NodeJS.Signals,
) {
  expect(child.exitCode, "the command ended before the signal").toBeNull();
  const sent = performance.now();
  child.kill(signal);
  const end = await done;
  return { ...end, ms: performance.now() - sent };
}

describe("annexml train interrupted", () => {
  // The model is streamed into a temporary file from the start: the handler
  // removes it, then the process ends by the signal (a shell reports 143 /
  // 130), its workers with it. At num_thread=1 too: streamed training runs
  // its tasks on a worker thread, so the main thread handles the signal at
  // once instead of after the task it would be computing.
  for (const [signal, threads] of [
    ["SIGTERM", 2],
    ["SIGINT", 1],
  ] as const) {
    it(`ends by ${signal} at once (num_thread=${threads}), removes its temporary file, keeps the previous model`, async () => {
      const model = join(dir, `${signal}.model`);
      const previous = randomBytes(4096);
      await writeFile(model, previous);
      const { child, done } = start([
        "train",
        CONFIG,
        `train_file=${DELICIOUS}`,
        `model_file=${model}`,
        "num_learner=15",
        `num_thread=${threads}`,
        "verbose=0",
      ]);
      await sleep(1500);
      const end = await interrupt(child, done, signal);
      expect(end).toMatchObject({
        code: null,
        signal,
        stderr: `annexml: interrupted (${signal}), removed 1 temporary file\n`,
      });
      expect(end.ms).toBeLessThan(5000);
      expect(await temps(dir)).toEqual([]);
      expect((await readFile(model)).equals(previous)).toBe(true);
    }, 60_000);
  }
});

describe("annexml predict interrupted", () => {
  let model: string;
  beforeAll(async () => {
    model = join(dir, "small.model");
    const small = ["num_learner=1", "emb_iter=1", "cls_iter=1", "verbose=0"];
    const t = await runCli(["train", CONFIG, ...small, `model_file=${model}`]);
    expect(t).toMatchObject({ code: 0, stderr: "" });
  }, 120_000);

  // The temporary result exists from the start: the handler removes it,
  // then the process ends by the signal.
  for (const [signal, threads] of [
    ["SIGTERM", 2],
    ["SIGINT", 1],
  ] as const) {
    it(`on ${signal} (num_thread=${threads}) removes the temporary result and keeps the previous one`, async () => {
      const sub = await mkdtemp(join(dir, "predict-"));
      const result = join(sub, "out.result");
      await writeFile(result, "previous result\n");
      // predict_file=- with stdin kept open: predict waits for more rows.
      const { child, done } = start([
        "predict",
        CONFIG,
        `model_file=${model}`,
        "predict_file=-",
        `result_file=${result}`,
        `num_thread=${threads}`,
        "verbose=0",
      ]);
      child.stdin?.write("1,2 3:1 7:0.5\n0 4:1\n");
      await until(async () => (await temps(sub)).length === 1, 20_000, "the temporary result");
      const end = await interrupt(child, done, signal);
      expect(end).toMatchObject({
        code: null,
        signal,
        stderr: `annexml: interrupted (${signal}), removed 1 temporary file\n`,
      });
      expect(await readdir(sub)).toEqual(["out.result"]);
      expect(await readFile(result, "utf8")).toBe("previous result\n");
    }, 60_000);
  }
});
