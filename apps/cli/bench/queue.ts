// What the queue costs: local training at num_thread=2 against a
// coordinator plus 2 `annexml worker` processes of 1 thread each on this
// machine (a Redis of its own on a free loopback port), same config, same
// data; checks the two models are byte-identical. Not a test:
// `pnpm --filter @annexml/cli bench:queue [-- --train=FILE] [--repeat=N] [key=value ...]`
// (default: the bundled bibtex at cluster_size=1500; the issue's set is the
// 60K synthetic one, `python3 synth_xmc.py s 60000 10000 20000 50000 7`).
// Needs the built CLI and redis-server. Prints a table; the last line is
// one JSON object. Goal: the queue's wall time at most 10% above local.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, REDIS_SERVER } from "../src/queue/local-redis.js";
import { BIN, CONFIG, ROOT } from "./paths.js";

const args = process.argv.slice(2).filter((a) => a !== "--");
const option = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
const trainFile = option("train") ?? join(ROOT, "data/bibtex/train.txt");
const repeat = Number(option("repeat") ?? 1);
const overrides = args.filter((a) => !a.startsWith("--"));
if (!option("train") && !overrides.some((a) => a.startsWith("cluster_size=")))
  overrides.push("cluster_size=1500");
const REDIS = REDIS_SERVER;
if (!REDIS) throw new Error("redis-server is needed (Debian: apt-get install redis-server)");

/** Starts `node BIN args`; resolves once a stdout or stderr line matches `ready` (if given). */
function node(args: string[], ready?: RegExp): { child: ChildProcess; ready: Promise<void> } {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let text = "";
  const isReady = new Promise<void>((resolve, reject) => {
    const check = (chunk: Buffer) => {
      text += chunk;
      if (ready?.test(text)) resolve();
    };
    child.stdout?.on("data", check);
    child.stderr?.on("data", check);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${args[0]}: ${text}`))));
  });
  return { child, ready: isReady };
}

/** Wall seconds of one `annexml train` with `extra` parameters. */
async function train(extra: string[]): Promise<number> {
  const t0 = performance.now();
  await node(["train", CONFIG, `train_file=${trainFile}`, "verbose=0", ...overrides, ...extra])
    .ready;
  return (performance.now() - t0) / 1000;
}

const dir = await mkdtemp(join(tmpdir(), "annexml-bench-queue-"));
const port = await freePort();
const url = `redis://127.0.0.1:${port}`;
const redis = spawn(
  REDIS,
  ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
  {
    stdio: "ignore",
  },
);
await new Promise((r) => setTimeout(r, 500));
const results: { run: number; local: number; queue: number; same: boolean }[] = [];
try {
  for (let i = 0; i < repeat; i++) {
    const localModel = join(dir, `local-${i}.bin`);
    const local = await train(["num_thread=2", `model_file=${localModel}`]);
    const workers = [0, 1].map(() =>
      node(["worker", "--queue", url, "--threads", "1"], / on redis:/),
    );
    await Promise.all(workers.map((w) => w.ready));
    const queueModel = join(dir, `queue-${i}.bin`);
    // A fresh work_dir: every task runs (nothing to resume).
    const queue = await train([
      `model_file=${queueModel}`,
      `queue=${url}`,
      `work_dir=${join(dir, `work-${i}`)}`,
    ]);
    for (const w of workers) w.child.kill("SIGTERM");
    await Promise.all(workers.map((w) => new Promise((r) => w.child.once("exit", r))));
    const same = (await readFile(localModel)).equals(await readFile(queueModel));
    results.push({ run: i, local, queue, same });
    // Each run's row as soon as it is measured (a long benchmark can be read while it runs).
    console.error(
      `run ${i}: local ${local.toFixed(2)} s, queue ${queue.toFixed(2)} s, same bytes: ${same}`,
    );
  }
} finally {
  redis.kill("SIGTERM");
  await rm(dir, { recursive: true, force: true });
}

const best = (key: "local" | "queue") => Math.min(...results.map((r) => r[key]));
const overhead = best("queue") / best("local") - 1;
console.log(`data ${trainFile} ${overrides.join(" ")}`);
console.log("run | local num_thread=2 (s) | coordinator + 2 workers x 1 thread (s) | same bytes");
for (const r of results)
  console.log(
    `${r.run} | ${r.local.toFixed(2)} | ${r.queue.toFixed(2)} | ${r.same ? "yes" : "NO"}`,
  );
console.log(
  JSON.stringify({
    bench: "queue",
    data: trainFile,
    overrides,
    localSeconds: best("local"),
    queueSeconds: best("queue"),
    overhead,
    sameBytes: results.every((r) => r.same),
  }),
);
