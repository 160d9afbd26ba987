// The queue-backed runner end to end: a Redis of our own on a free loopback
// port, `annexml worker` processes, `annexml train ... queue=... work_dir=...`
// (the built binary), models compared byte for byte with local training.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BIN, CONFIG, ROOT, runCli } from "../testing.js";
import { decodeObject, encodeObject } from "./codec.js";
import { freePort, REDIS_SERVER } from "./local-redis.js";

const REDIS = REDIS_SERVER;
const requireRedis = process.env.ANNEXML_REQUIRE_REDIS === "1";
const NO_REDIS =
  "no redis-server found (/usr/bin, /usr/local/bin): the queue tests are SKIPPED. Install it " +
  "(Debian: apt-get install redis-server); ANNEXML_REQUIRE_REDIS=1 makes this a failure.";

/** bibtex, 2 learners x 3 partitions: 8 tasks in a few seconds. */
const SMALL = ["num_learner=2", "emb_iter=1", "cls_iter=2", "cluster_size=1500", "verbose=1"];
const TASKS = 2 + 2 * 3;
/** Short locks: a killed worker's task goes to another worker within about 2 s. */
const LOCK = ["--lock-ms", "1000"];

describe("queue file codec", () => {
  it("round-trips nested objects with typed arrays and refuses a damaged file", () => {
    const value = {
      a: new Int32Array([1, -2, 3]),
      nested: { f: new Float32Array([0.5, 1.25]), list: [new Float64Array([Math.PI]), 7] },
      name: "x",
    };
    const bytes = Buffer.concat(encodeObject(value));
    const back = decodeObject<typeof value>(bytes, "f.bin", true);
    expect(back).toEqual(value);
    expect(back.a.buffer).toBeInstanceOf(SharedArrayBuffer);
    const damaged = Uint8Array.from(bytes);
    damaged[damaged.length - 9] ^= 1;
    expect(() => decodeObject(damaged, "f.bin")).toThrow(/f\.bin: .*CRC mismatch/);
    expect(() => decodeObject(bytes.subarray(0, bytes.length - 1), "f.bin")).toThrow(/f\.bin/);
  });
});

if (!REDIS) {
  if (requireRedis) {
    it("finds redis-server (ANNEXML_REQUIRE_REDIS=1)", () => {
      throw new Error(
        NO_REDIS.replace("are SKIPPED", "cannot run (ANNEXML_REQUIRE_REDIS=1 is set)"),
      );
    });
  } else {
    console.warn(`apps/cli queue: ${NO_REDIS}`);
  }
}

/** A child process whose stdout and stderr lines are kept, with a wait for a line. */
interface Proc {
  child: ChildProcess;
  out: string[];
  err: string;
  waitFor(pattern: RegExp, ms?: number): Promise<string>;
  exited: Promise<number | null>;
}

function start(args: string[], env: NodeJS.ProcessEnv = {}, command = process.execPath): Proc {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const out: string[] = [];
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  let partial = "";
  child.stdout?.on("data", (chunk) => {
    partial += chunk;
    const lines = partial.split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) {
      out.push(line);
      for (const w of [...waiters]) {
        if (w.pattern.test(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  const proc: Proc = {
    child,
    out,
    err: "",
    exited: new Promise((resolve) => child.on("close", (code) => resolve(code))),
    waitFor: (pattern, ms = 60_000) => {
      const seen = out.find((line) => pattern.test(line));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(new Error(`no line ${pattern} in ${ms} ms:\n${out.join("\n")}\n${proc.err}`)),
          ms,
        );
        waiters.push({
          pattern,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
      });
    },
  };
  child.stderr?.on("data", (chunk) => {
    proc.err += chunk;
  });
  return proc;
}

describe.skipIf(!REDIS)("annexml train queue=redis://... (BullMQ workers)", () => {
  let redis: ChildProcess;
  let url = "";
  let dir = "";
  let reference: Buffer;
  const workers: Proc[] = [];

  const worker = async (args: string[] = [], env: NodeJS.ProcessEnv = {}) => {
    const w = start([BIN, "worker", "--queue", url, ...LOCK, ...args], env);
    workers.push(w);
    await w.waitFor(/annexml worker: .* on redis:/);
    return w;
  };
  const stopWorkers = async () => {
    const all = workers.splice(0);
    for (const w of all) if (w.child.exitCode === null) w.child.kill("SIGTERM");
    await Promise.all(all.map((w) => w.exited));
  };
  const train = (name: string, extra: string[] = []) =>
    runCli([
      "train",
      CONFIG,
      ...SMALL,
      `model_file=${join(dir, `${name}.bin`)}`,
      `queue=${url}`,
      `work_dir=${join(dir, `work-${name}`)}`,
      ...extra,
    ]);
  const doneLines = (procs: Proc[]) =>
    procs.flatMap((w) => w.out.filter((line) => / done in /.test(line)));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "annexml-queue-"));
    const port = await freePort();
    url = `redis://127.0.0.1:${port}`;
    redis = spawn(
      REDIS as string,
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    await new Promise<void>((resolve, reject) => {
      let text = "";
      redis.stdout?.on("data", (chunk) => {
        text += chunk;
        if (/Ready to accept connections/.test(text)) resolve();
      });
      redis.on("exit", (code) => reject(new Error(`redis-server exited (${code}): ${text}`)));
    });
    const local = await runCli([
      "train",
      CONFIG,
      ...SMALL,
      "num_thread=2",
      `model_file=${join(dir, "local.bin")}`,
    ]);
    expect(local.code, local.stderr).toBe(0);
    reference = await readFile(join(dir, "local.bin"));
  }, 120_000);

  afterEach(stopWorkers);
  afterAll(async () => {
    await stopWorkers();
    redis?.kill("SIGTERM");
    await rm(dir, { recursive: true, force: true });
  });

  it("gives local training's bytes with one worker of 2 threads and with 2 workers of 1", async () => {
    const one = [await worker(["--threads", "2"])];
    const a = await train("one-worker");
    expect(a.code, a.stderr).toBe(0);
    expect((await readFile(join(dir, "one-worker.bin"))).equals(reference)).toBe(true);
    expect(doneLines(one)).toHaveLength(TASKS);
    await stopWorkers();

    const two = [await worker(), await worker()];
    const b = await train("two-workers");
    expect(b.code, b.stderr).toBe(0);
    expect((await readFile(join(dir, "two-workers.bin"))).equals(reference)).toBe(true);
    expect(doneLines(two)).toHaveLength(TASKS);
    // Both took tasks (the queue spreads them).
    expect(two.every((w) => doneLines([w]).length > 0)).toBe(true);
    await stopWorkers();
  }, 180_000);

  it("retries the task of a worker killed with SIGKILL on another worker: same bytes", async () => {
    const a = await worker();
    const b = await worker();
    const run = train("killed");
    // Kill whichever worker starts a partition's task first, mid-task.
    const started = await Promise.race(
      [a, b].map((w) => w.waitFor(/part-\d+-\d+ start/).then((line) => ({ w, line }))),
    );
    started.w.child.kill("SIGKILL");
    const id = /(\S+-part-\d+-\d+) start/.exec(started.line)?.[1] as string;
    const survivor = started.w === a ? b : a;
    const result = await run;
    expect(result.code, result.stderr).toBe(0);
    expect((await readFile(join(dir, "killed.bin"))).equals(reference)).toBe(true);
    expect(started.w.out.some((line) => line.includes(`${id} done`))).toBe(false);
    expect(survivor.out.some((line) => line.includes(`${id} done`))).toBe(true);
    await stopWorkers();
  }, 180_000);

  it("lets a worker sent SIGTERM finish its running task, then exit 0", async () => {
    const a = await worker();
    const b = await worker();
    const run = train("terminated");
    const started = await Promise.race(
      [a, b].map((w) => w.waitFor(/part-\d+-\d+ start/).then((line) => ({ w, line }))),
    );
    started.w.child.kill("SIGTERM");
    const id = /(\S+-part-\d+-\d+) start/.exec(started.line)?.[1] as string;
    expect(await started.w.exited).toBe(0);
    expect(started.w.out.some((line) => line.includes(`${id} done`))).toBe(true);
    expect(started.w.out.at(-1)).toBe("annexml worker: stopped");
    const result = await run;
    expect(result.code, result.stderr).toBe(0);
    expect((await readFile(join(dir, "terminated.bin"))).equals(reference)).toBe(true);
    // The task was not run twice.
    expect(doneLines([a, b]).filter((line) => line.includes(id))).toHaveLength(1);
  }, 180_000);

  it("resumes a killed coordinator: finished tasks are reused, none runs twice", async () => {
    const w = await worker();
    const model = join(dir, "resumed.bin");
    const first = start([
      BIN,
      "train",
      CONFIG,
      ...SMALL,
      `model_file=${model}`,
      `queue=${url}`,
      `work_dir=${join(dir, "work-resumed")}`,
    ]);
    await w.waitFor(/part-\d+-\d+ done/);
    first.child.kill("SIGKILL");
    await first.exited;
    expect(existsSync(model)).toBe(false);
    const second = await train("resumed");
    expect(second.code, second.stderr).toBe(0);
    expect((await readFile(model)).equals(reference)).toBe(true);
    // Every task ran exactly once over both coordinators.
    const done = doneLines([w]).map((line) => /(\S+) done/.exec(line)?.[1]);
    expect(done).toHaveLength(TASKS);
    expect(new Set(done).size).toBe(TASKS);
    // The restarted coordinator read at least both partitioners and one partition from work_dir.
    const reused = Number(/(\d+) task results reused/.exec(second.stderr)?.[1]);
    expect(reused).toBeGreaterThanOrEqual(3);
    await stopWorkers();
  }, 180_000);

  it("stops with a clear error naming both versions when a worker runs another version", async () => {
    await worker([], { ANNEXML_TEST_VERSION: "9.9.9" });
    const r = await train("other-version");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/queued by annexml 0\.0\.0 .* the worker runs annexml 9\.9\.9/);
    expect(await readdir(dir)).not.toContain("other-version.bin");
    expect((await readdir(dir)).filter((f) => f.includes("other-version.bin"))).toEqual([]);
    await stopWorkers();
  }, 120_000);

  const canUnshare = spawnSync("unshare", ["--mount", "true"]).status === 0;
  it.skipIf(!canUnshare)(
    "stops with a clear error naming work_dir when a worker does not see it (its own mount)",
    async () => {
      const work = join(dir, "work-not-shared");
      await rm(work, { recursive: true, force: true });
      spawnSync("mkdir", ["-p", work]);
      // A worker in its own mount namespace, an empty tmpfs over work_dir: what a
      // machine without the shared mount sees.
      const w = start(
        [
          "--mount",
          "sh",
          "-c",
          `mount -t tmpfs none "$0" && exec "$1" "$2" worker --queue "$3" --lock-ms 1000`,
          work,
          process.execPath,
          BIN,
          url,
        ],
        {},
        "unshare",
      );
      workers.push(w);
      await w.waitFor(/annexml worker: .* on redis:/);
      const r = await train("not-shared");
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`work_dir ${work} is not shared with this worker`);
      expect(await readdir(dir)).not.toContain("not-shared.bin");
      await stopWorkers();
    },
    120_000,
  );

  it("fails within seconds naming the URL when Redis is unreachable; writes nothing", async () => {
    const closed = `redis://127.0.0.1:${await freePort()}`;
    const t0 = performance.now();
    const r = await runCli([
      "train",
      CONFIG,
      ...SMALL,
      `model_file=${join(dir, "unreachable.bin")}`,
      `queue=${closed}`,
      `work_dir=${join(dir, "work-unreachable")}`,
    ]);
    expect(performance.now() - t0).toBeLessThan(15_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot reach the queue's Redis at ${closed}`);
    expect(r.stderr).toContain("ECONNREFUSED");
    expect(existsSync(join(dir, "unreachable.bin"))).toBe(false);
    expect(existsSync(join(dir, "work-unreachable"))).toBe(false);
    const w = await runCli(["worker", "--queue", closed]);
    expect(w.code).toBe(1);
    expect(w.stderr).toContain(`cannot reach the queue's Redis at ${closed}`);
    // A URL that is not one: a usage error.
    const bad = await runCli([
      "train",
      CONFIG,
      "model_file=x.bin",
      "queue=localhost:6379",
      "work_dir=w",
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("parameter 'queue' must be a Redis URL");
  }, 60_000);
});
