import { spawn } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AnnexmlModel, labelNamesFromList } from "@annexml/model";
import { type CsrMatrix, readDataset, selectRows } from "@annexml/sparse-io";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { train } from "../api.js";
import { readModelFile, saveModel } from "../model/files.js";
import { BIN, ROOT, runCli } from "../testing.js";
import { type PredictServer, type RowAnswer, startServer } from "./server.js";

const TRAIN = join(ROOT, "data/bibtex/train.txt");
const TEST = join(ROOT, "data/bibtex/test.txt");
const ROWS = 120;

let dir: string;
let modelFile: string;
let model: AnnexmlModel;
let source: { file: string; fileBytes: number; formatVersion: number };
let rows: CsrMatrix;
const servers: PredictServer[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "annexml-serve-"));
  modelFile = join(dir, "bibtex.model");
  const trained = await train({ trainFile: TRAIN, numLearners: 2, numThreads: 2, seed: 7 });
  await saveModel(trained, modelFile);
  // As `annexml serve --threads 2` loads it: on shared memory.
  const decoded = await readModelFile(modelFile, { shared: true });
  model = decoded.model;
  source = { file: modelFile, fileBytes: decoded.fileBytes, formatVersion: 2 };
  const test = await readDataset(TEST);
  rows = selectRows(
    test.features,
    Array.from({ length: ROWS }, (_, r) => r),
  );
}, 180_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await rm(dir, { recursive: true, force: true });
});

async function serve(options: Parameters<typeof startServer>[1] = {}): Promise<PredictServer> {
  const server = await startServer(model, { port: 0, ...options }, source);
  servers.push(server);
  return server;
}

/** The pairs of row `r` of `m`, as a request gives them. */
function pairs(m: CsrMatrix, r: number): [number, number][] {
  const out: [number, number][] = [];
  for (let p = m.indptr[r]; p < m.indptr[r + 1]; p++) out.push([m.indices[p], m.values[p]]);
  return out;
}

/** `model.predict`'s answer for every row, -1 padding dropped: what the server must return. */
function expected(k: number): RowAnswer[] {
  const result = model.predict(rows, { k });
  return Array.from({ length: rows.rows }, (_, r) => {
    const ids = Array.from(result.ids.subarray(r * k, (r + 1) * k));
    const n = ids.includes(-1) ? ids.indexOf(-1) : k;
    return {
      labels: ids.slice(0, n),
      scores: Array.from(result.scores.subarray(r * k, r * k + n)),
    };
  });
}

/** What `POST /predict` answers: a row, a batch or an error. */
interface Reply extends Partial<RowAnswer> {
  results: RowAnswer[];
  error: string;
  field?: string;
  code?: string;
}

interface Info {
  params: { num_learner: number };
  predict: { numNeighbours: number };
}

async function post(url: string, body: unknown, raw = false) {
  const response = await fetch(`${url}/predict`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: raw ? (body as string) : JSON.stringify(body),
  });
  return {
    status: response.status,
    headers: response.headers,
    json: (await response.json()) as Reply,
  };
}

/**
 * A `POST /predict` sent over a raw socket up to its last byte (so the
 * server holds it in flight); `finish()` sends the rest and resolves with
 * the status line and body.
 */
async function heldRequest(url: string, body: string, keepAlive = false) {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  await new Promise<void>((resolve, reject) =>
    socket.once("connect", resolve).once("error", reject),
  );
  let text = "";
  socket.on("data", (d) => {
    text += d;
  });
  const ended = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  socket.write(
    `POST /predict HTTP/1.1\r\nhost: ${hostname}\r\ncontent-type: application/json\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\n${keepAlive ? "" : "connection: close\r\n"}\r\n${body.slice(0, -1)}`,
  );
  return {
    abort: () => socket.destroy(),
    /** Sends the last byte (and `then`, more requests on the connection); resolves when the server closes it. */
    async finish(then = "") {
      socket.write(body.slice(-1) + then);
      await ended;
      const [head, ...rest] = text.split("\r\n\r\n");
      return { status: Number(head.split(" ")[1]), body: rest.join("\r\n\r\n"), text };
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("annexml serve: predictions", () => {
  it("single rows (main thread) equal model.predict exactly, in any feature order", async () => {
    const server = await serve();
    const want = expected(5);
    for (let r = 0; r < rows.rows; r++) {
      const features = pairs(rows, r);
      const { status, json } = await post(server.url, { features, k: 5 });
      expect(status).toBe(200);
      expect(json, `row ${r}`).toEqual(want[r]);
      if (r % 10 === 0) {
        const reversed = await post(server.url, { features: features.slice().reverse(), k: 5 });
        expect(reversed.json).toEqual(want[r]);
      }
    }
    // k defaults to 10; unknown feature ids are ignored as model.predict ignores them.
    const ten = expected(10);
    expect((await post(server.url, { features: pairs(rows, 3) })).json).toEqual(ten[3]);
    const far = await post(server.url, { features: [...pairs(rows, 3), [2_000_000_000, 0]] });
    expect(far.json).toEqual(ten[3]);
  });

  it("batches equal model.predict at 1 thread, and 2 threads equal 1", async () => {
    const one = await serve({ threads: 1 });
    const two = await serve({ threads: 2 });
    const body = {
      rows: Array.from({ length: rows.rows }, (_, r) => ({ features: pairs(rows, r) })),
      k: 7,
    };
    const a = await post(one.url, body);
    const b = await post(two.url, body);
    expect(a.status).toBe(200);
    expect(a.json.results).toHaveLength(rows.rows);
    expect(a.json).toEqual({ results: expected(7) });
    expect(b.json).toEqual(a.json);
    // An empty batch and an empty row.
    expect((await post(two.url, { rows: [] })).json).toEqual({ results: [] });
    const empty = await post(two.url, { rows: [{ features: [] }, { features: pairs(rows, 0) }] });
    expect(empty.json.results[1]).toEqual(expected(10)[0]);
  });
});

describe("annexml serve: label names", () => {
  it("single rows and batches return the names beside the ids; /info says so", async () => {
    const names = Array.from(
      { length: model.trainLabels.cols },
      (_, d) => `tag ${model.ids.labels?.[d] ?? d}`,
    );
    const named = new AnnexmlModel(
      model.info,
      model.trainLabels,
      model.learners,
      model.ids,
      labelNamesFromList(names),
    );
    const server = await startServer(named, { port: 0, threads: 2 }, source);
    servers.push(server);
    const want = expected(5);
    const single = (await post(server.url, { features: pairs(rows, 4), k: 5 })).json;
    expect(single).toEqual({ ...want[4], names: want[4].labels.map((l) => `tag ${l}`) });
    const batch = await post(server.url, {
      rows: [0, 1, 2].map((r) => ({ features: pairs(rows, r) })),
      k: 5,
    });
    expect(batch.json.results).toEqual(
      want.slice(0, 3).map((a) => ({ ...a, names: a.labels.map((l) => `tag ${l}`) })),
    );
    const info = (await (await fetch(`${server.url}/info`)).json()) as { labelNames: boolean };
    expect(info.labelNames).toBe(true);
  });
});

describe("annexml serve: bad requests", () => {
  const row = [
    [3, 1],
    [9, 0.5],
  ];
  const cases: [string, unknown, string, RegExp][] = [
    ["missing features", { k: 3 }, "features", /missing/],
    [
      "features not an array",
      { features: { 3: 1 } },
      "features",
      /array of \[index, value\] pairs/,
    ],
    ["a pair of three", { features: [[1, 2, 3]] }, "features[0]", /pair/],
    ["a negative index", { features: [[-1, 1]] }, "features[0][0]", /integer from 0/],
    ["a fractional index", { features: [...row, [1.5, 1]] }, "features[2][0]", /but is 1.5/],
    ["a string value", { features: [[1, "2"]] }, "features[0][1]", /finite number/],
    ["a float32 overflow", { features: [[1, 1e39]] }, "features[0][1]", /finite number/],
    [
      "a repeated index",
      { features: [[9, 1], ...row] },
      "features[2][0]",
      /repeats the one of features\[0\]/,
    ],
    ["k = 0", { features: row, k: 0 }, "k", /integer from 1 to 100/],
    ["k above max", { features: row, k: 101 }, "k", /but is 101/],
    ["k a string", { features: row, k: "5" }, "k", /but is "5"/],
    ["an unknown field", { features: row, topk: 3 }, "topk", /unknown field/],
    ["both shapes", { features: row, rows: [] }, "rows", /not both/],
    ["rows not an array", { rows: 3 }, "rows", /must be an array/],
    ["a row not an object", { rows: [{ features: row }, []] }, "rows[1]", /must be an object/],
    [
      "a bad index deep in a batch",
      { rows: [0, 1, 2, 3].map((r) => ({ features: r === 3 ? [...row, [-4, 1]] : row })) },
      "rows[3].features[2][0]",
      /but is -4/,
    ],
    ["a row without features", { rows: [{}] }, "rows[0].features", /missing/],
    ["not an object", [1, 2], "body", /must be a JSON object/],
  ];
  for (const [name, body, field, message] of cases) {
    it(`400 for ${name}, naming ${field}`, async () => {
      const server = servers[0] ?? (await serve());
      const { status, json } = await post(server.url, body);
      expect(status).toBe(400);
      expect(json.field).toBe(field);
      expect(json.error).toMatch(message);
      expect(json.error.startsWith(`${field}: `)).toBe(true);
    });
  }

  it("400 for a value that JSON reads as Infinity, and for invalid JSON", async () => {
    const server = servers[0] ?? (await serve());
    const inf = await post(server.url, '{"features": [[1, 1e400]]}', true);
    expect(inf.status).toBe(400);
    expect(inf.json).toMatchObject({ field: "features[0][1]" });
    expect(inf.json.error).toMatch(/but is Infinity/);
    const broken = await post(server.url, '{"features": [[1, 2]', true);
    expect(broken.status).toBe(400);
    expect(broken.json.error).toMatch(/JSON/);
  });

  it("413 for a body over the limit; the server goes on", async () => {
    const server = await serve({ bodyLimit: 2048 });
    const big = { features: Array.from({ length: 400 }, (_, i) => [i, 1]) };
    const { status, json } = await post(server.url, big);
    expect(status).toBe(413);
    expect(json.code).toBe("FST_ERR_CTP_BODY_TOO_LARGE");
    expect((await post(server.url, { features: pairs(rows, 0) })).json).toEqual(expected(10)[0]);
  });

  it("503 with Retry-After when the queue is full; answered again once it drains", async () => {
    const server = await serve({ maxQueue: 2 });
    const body = JSON.stringify({ features: pairs(rows, 1), k: 4 });
    const held = [await heldRequest(server.url, body), await heldRequest(server.url, body)];
    await sleep(100);
    const busy = await post(server.url, { features: pairs(rows, 2) });
    expect(busy.status).toBe(503);
    expect(busy.headers.get("retry-after")).toBe("1");
    expect(busy.json.error).toMatch(/busy: 2 requests in flight \(at most 2\)/);
    // /health is not queued.
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    for (const h of held) {
      const answer = await h.finish();
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body)).toEqual(expected(4)[1]);
    }
    // A client that goes away mid-request frees its place too.
    (await heldRequest(server.url, body)).abort();
    await sleep(100);
    const again = await heldRequest(server.url, body);
    expect((await post(server.url, { features: pairs(rows, 2) })).json).toEqual(expected(10)[2]);
    expect((await again.finish()).status).toBe(200);
  });

  it("404 names the routes", async () => {
    const server = servers[0] ?? (await serve());
    const response = await fetch(`${server.url}/predictions`);
    expect(response.status).toBe(404);
    expect(((await response.json()) as Reply).error).toMatch(
      /POST \/predict, GET \/health, GET \/info/,
    );
  });
});

describe("annexml serve: health, info, shutdown", () => {
  it("GET /health and GET /info", async () => {
    const server = await serve({ threads: 2, predict: { numNeighbours: 15 }, maxK: 50 });
    const health = await fetch(`${server.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok" });
    const info = (await (await fetch(`${server.url}/info`)).json()) as Info;
    expect(info).toMatchObject({
      file: modelFile,
      fileBytes: (await stat(modelFile)).size,
      formatVersion: 2,
      learners: 2,
      labels: model.trainLabels.cols,
      features: model.info.data.usedFeatures ?? model.info.data.features,
      labelNames: false,
      params: model.info.params,
      predict: { numLearners: 2, numNeighbours: 15, search: "graph", defaultK: 10, maxK: 50 },
      threads: 2,
      limits: { bodyLimit: 1 << 20, maxQueue: 64 },
    });
    expect(info.params.num_learner).toBe(2);
  });

  it("close() answers the request in flight; then /health is 503 and the port is closed", async () => {
    const server = await serve({ threads: 2 });
    const body = JSON.stringify({
      rows: [{ features: pairs(rows, 5) }, { features: pairs(rows, 6) }],
    });
    const held = await heldRequest(server.url, body, true);
    await sleep(50);
    const closed = server.close();
    await sleep(50);
    // The batch, then a /health on the same (kept-alive) connection.
    const answer = await held.finish("GET /health HTTP/1.1\r\nhost: localhost\r\n\r\n");
    expect(answer.status).toBe(200);
    const [batch, health] = answer.text.split(/(?=HTTP\/1\.1 )/);
    expect(JSON.parse(batch.slice(batch.indexOf("\r\n\r\n") + 4)).results).toEqual(
      expected(10).slice(5, 7),
    );
    expect(health).toMatch(/^HTTP\/1\.1 503 /);
    await closed;
    await expect(fetch(`${server.url}/health`)).rejects.toThrow();
  });

  it("close() cuts a request that does not finish within shutdownTimeout", async () => {
    const server = await serve({ shutdownTimeout: 300 });
    const held = await heldRequest(server.url, JSON.stringify({ features: [] }));
    await sleep(50);
    const start = performance.now();
    await server.close();
    expect(performance.now() - start).toBeLessThan(5000);
    expect(performance.now() - start).toBeGreaterThan(250);
    held.abort();
  });

  it("the binary: SIGTERM with a request in flight answers it and exits 0", async () => {
    const child = spawn(
      process.execPath,
      [BIN, "serve", modelFile, "--port", "0", "--threads", "2", "num_nn=12"],
      { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stderr = "";
    const listening = new Promise<string>((resolve, reject) => {
      child.stderr.on("data", (d) => {
        stderr += d;
        const url = /listening on (http:\/\/\S+)/.exec(stderr)?.[1];
        if (url) resolve(url);
      });
      child.once("close", () => reject(new Error(`serve ended early: ${stderr}`)));
    });
    const exited = new Promise<number | null>((resolve) => child.once("close", resolve));
    const url = await listening;
    const info = (await (await fetch(`${url}/info`)).json()) as Info;
    expect(info.predict.numNeighbours).toBe(12);
    const held = await heldRequest(url, JSON.stringify({ features: pairs(rows, 8), k: 3 }));
    await sleep(100);
    child.kill("SIGTERM");
    await sleep(200);
    expect(child.exitCode).toBeNull(); // still finishing the request
    const answer = await held.finish();
    expect(answer.status).toBe(200);
    const want = model.predict(selectRows(rows, [8]), { k: 3, numNeighbours: 12 });
    expect(JSON.parse(answer.body).labels).toEqual(Array.from(want.ids).filter((id) => id >= 0));
    expect(await exited).toBe(0);
    expect(stderr).toMatch(/SIGTERM: finishing the requests in flight\n.*stopped\n$/s);
  });

  it("the binary refuses a training parameter and a taken port with exit 2", async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [BIN, "serve", modelFile, ...args], { cwd: ROOT });
        let stderr = "";
        child.stderr.on("data", (d) => {
          stderr += d;
        });
        child.once("close", (code) => resolve({ code, stderr }));
      });
    const bad = await run(["emb_size=10"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/parameter 'emb_size' does not apply to serve/);
    const taken = servers[0] ?? (await serve());
    const port = new URL(taken.url).port;
    const busy = await run(["--port", port]);
    expect(busy.code).toBe(2);
    expect(busy.stderr).toMatch(/cannot listen on 127.0.0.1:\d+ \(the port is in use\)/);
  });

  it("annexml --help lists serve; serve --help lists its options and parameters; a bad --port is exit 2", async () => {
    expect((await runCli(["--help"])).stdout).toContain(
      "serve [options] <model-file> [settings...]",
    );
    const help = await runCli(["serve", "--help"]);
    expect(help.code).toBe(0);
    for (const text of [
      "--port <port>",
      "--threads <n>",
      "--max-queue <n>",
      "--body-limit <bytes>",
      "search_eps",
      "vote_power",
    ]) {
      expect(help.stdout).toContain(text);
    }
    expect(help.stdout).not.toContain("emb_size");
    const port = await runCli(["serve", modelFile, "--port", "70000"]);
    expect(port.code).toBe(2);
    expect(port.stderr).toMatch(/port must be an integer from 0 to 65535, but is '70000'/);
  });
});
