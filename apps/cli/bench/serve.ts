// Load benchmark of `annexml serve` (issue 14). Not a test:
// `pnpm --filter @annexml/cli bench:serve [-- --requests N] [--model FILE]`
// (build first: it runs the built binary). Trains, or reuses, a 15-learner
// bibtex model with the example parameters (annexml-example.json) in
// $TMPDIR/annexml-bench-serve, then POSTs the bundled test rows one per
// request with autocannon on loopback: requests/s and p50/p99 latency at
// --threads 1 and 2, and the server's RSS before and after N (default
// 100,000) requests. Also batches of 100 rows at 1 and 2 threads (rows/s),
// and a single row's latency from the API (predictor.predictRow). The
// load average (/proc/loadavg) is recorded beside the figures: the machine
// may be shared. Prints a table; the last line is one JSON object.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CsrMatrix, readDataset } from "@annexml/sparse-io";
import autocannon from "autocannon";
import { loadModel } from "../src/api.js";
import { BIN, CONFIG, ROOT, run } from "./paths.js";

const args = process.argv.slice(2);
const option = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const REQUESTS = Number(option("--requests") ?? 100_000);
const CONNECTIONS = 8;
const DIR = join(tmpdir(), "annexml-bench-serve");
const MODEL = option("--model") ?? join(DIR, "bibtex-15.model");
const TEST = join(ROOT, "data/bibtex/test.txt");

const loadavg = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");

/** Resident set size of a process, in MB (from /proc). */
function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
  return Math.round(kb / 102.4) / 10;
}

function pairs(m: CsrMatrix, r: number): [number, number][] {
  const out: [number, number][] = [];
  for (let p = m.indptr[r]; p < m.indptr[r + 1]; p++) out.push([m.indices[p], m.values[p]]);
  return out;
}

async function startServer(threads: number): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [BIN, "serve", MODEL, "--port", "0", "--threads", String(threads), "--body-limit", "4194304"],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr?.on("data", (d) => {
      stderr += d;
      const match = /listening on (http:\/\/\S+)/.exec(stderr);
      if (match) resolve(match[1]);
    });
    child.once("close", () => reject(new Error(`serve ended: ${stderr}`)));
  });
  return { child, url };
}

async function stop(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once("close", resolve));
  child.kill("SIGTERM");
  return exited;
}

/** `amount` POSTs cycling through `bodies`, `CONNECTIONS` at a time. */
async function load(url: string, bodies: string[], amount: number) {
  let next = 0;
  const result = await autocannon({
    url: `${url}/predict`,
    connections: CONNECTIONS,
    amount,
    requests: [
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        setupRequest: (request) => ({ ...request, body: bodies[next++ % bodies.length] }),
      },
    ],
  });
  const bad = result.non2xx + result.errors + result.timeouts;
  if (bad > 0) throw new Error(`${bad} requests failed (non-2xx ${result.non2xx})`);
  return {
    requestsPerSecond: Math.round((result.requests.total / result.duration) * 10) / 10,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requests: result.requests.total,
    seconds: result.duration,
  };
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function main() {
  if (!existsSync(BIN)) throw new Error(`build the CLI first: ${BIN} is missing`);
  if (!existsSync(MODEL)) {
    mkdirSync(DIR, { recursive: true });
    process.stderr.write(`training ${MODEL} (example parameters, 15 learners)...\n`);
    await run(process.execPath, [BIN, "train", CONFIG, `model_file=${MODEL}`, "verbose=0"], {
      cwd: ROOT,
    });
  }
  const test = await readDataset(TEST);
  const rows = test.features;
  const bodies = Array.from({ length: rows.rows }, (_, r) =>
    JSON.stringify({ features: pairs(rows, r), k: 5 }),
  );
  const batches: string[] = [];
  for (let from = 0; from + 100 <= rows.rows; from += 100) {
    const batch = Array.from({ length: 100 }, (_, i) => ({ features: pairs(rows, from + i) }));
    batches.push(JSON.stringify({ rows: batch, k: 5 }));
  }

  // A single row from the API, no HTTP: the floor of a request's latency.
  const model = await loadModel(MODEL);
  const predictor = model.predictor({ k: 5 });
  const times: number[] = [];
  for (let pass = 0; pass < 2; pass++) {
    for (let r = 0; r < rows.rows; r++) {
      const p = rows.indptr[r];
      const q = rows.indptr[r + 1];
      const t = performance.now();
      predictor.predictRow(rows.indices.subarray(p, q), rows.values.subarray(p, q), 5);
      if (pass === 1) times.push(performance.now() - t);
    }
  }
  times.sort((a, b) => a - b);
  const api = {
    rows: times.length,
    medianMs: Math.round(quantile(times, 0.5) * 1000) / 1000,
    p99Ms: Math.round(quantile(times, 0.99) * 1000) / 1000,
    loadavg: loadavg(),
  };

  const servers = [];
  for (const threads of [1, 2]) {
    const { child, url } = await startServer(threads);
    const pid = child.pid as number;
    await load(url, bodies, 2000); // warm-up
    const rssBefore = rssMb(pid);
    const loadBefore = loadavg();
    const single = await load(url, bodies, REQUESTS);
    const rssAfter = rssMb(pid);
    const batch = await load(url, batches, 20 * batches.length);
    const exitCode = await stop(child);
    servers.push({
      threads,
      single,
      batch100: {
        rowsPerSecond: Math.round(batch.requestsPerSecond * 100),
        p50Ms: batch.p50Ms,
        p99Ms: batch.p99Ms,
      },
      rssBeforeMb: rssBefore,
      rssAfterMb: rssAfter,
      exitCode,
      loadavg: `${loadBefore} -> ${loadavg()}`,
    });
  }

  console.log(
    `annexml serve, bibtex 15 learners, ${rows.rows} test rows cycled, k=5, ${CONNECTIONS} connections, ${REQUESTS} single-row requests per run`,
  );
  console.log(
    `API predictRow: median ${api.medianMs} ms, p99 ${api.p99Ms} ms over ${api.rows} rows (load ${api.loadavg})`,
  );
  console.log(
    "threads | req/s (1 row) | p50 ms | p99 ms | rows/s (batches of 100) | batch p50 ms | RSS before -> after (MB) | load avg",
  );
  for (const s of servers) {
    console.log(
      `${s.threads} | ${s.single.requestsPerSecond} | ${s.single.p50Ms} | ${s.single.p99Ms} | ${s.batch100.rowsPerSecond} | ${s.batch100.p50Ms} | ${s.rssBeforeMb} -> ${s.rssAfterMb} | ${s.loadavg}`,
    );
  }
  console.log(
    JSON.stringify({ model: MODEL, requests: REQUESTS, connections: CONNECTIONS, api, servers }),
  );
}

await main();
