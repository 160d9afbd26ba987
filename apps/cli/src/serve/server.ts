// `annexml serve`'s HTTP server: fastify routes over one model.
import type { AddressInfo } from "node:net";
import type { AnnexmlModel, ModelPredictOptions } from "@annexml/model";
import { AnnexmlError, type CsrMatrix, type KnnResult, normalizeRows } from "@annexml/sparse-io";
import Fastify, { type FastifyError, type FastifyInstance } from "fastify";
import { splitRows } from "../engine/predict-file.js";
import { createPredictRunner, type PredictRunner, predictWith } from "../engine/runner.js";
import { DEFAULT_SERVE_OPTIONS, type ServeOptions } from "./options.js";
import { BadRequest, parsePredictBody } from "./request.js";

/** What `GET /info` says of the model file besides the model itself. */
export interface ModelSource {
  file: string;
  fileBytes: number;
  formatVersion: number;
}

/** A running server. */
export interface PredictServer {
  /** Where it listens, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** The fastify instance (for `inject` in tests). */
  readonly app: FastifyInstance;
  /**
   * Stops: new requests get 503, idle connections close, requests in
   * flight are answered (connections still open after `shutdownTimeout`
   * are cut), then the worker pool ends. Idempotent.
   */
  close(): Promise<void>;
}

/** One row's answer: label ids (the training file's), best first, their scores, and names when the model has them. */
export interface RowAnswer {
  labels: number[];
  scores: number[];
  names?: (string | undefined)[];
}

/** Throws `BAD_OPTION` unless `value` is an integer in `[min, max]`. */
function checkInt(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new AnnexmlError(
      "BAD_OPTION",
      `option '${name}' of serve must be an integer from ${min} to ${max}, but is ${String(value)}`,
    );
  }
}

/** Checks serve options (names the bad one); returns them with defaults filled in. */
export function validateServeOptions(options: Partial<ServeOptions>): ServeOptions {
  const o = { ...DEFAULT_SERVE_OPTIONS, ...options };
  if (typeof o.host !== "string" || o.host === "") {
    throw new AnnexmlError(
      "BAD_OPTION",
      `option 'host' of serve must be a host name or address, but is ${String(o.host)}`,
    );
  }
  checkInt("port", o.port, 0, 65535);
  checkInt("threads", o.threads, 1, 1024);
  checkInt("maxK", o.maxK, 1, 1 << 20);
  checkInt("defaultK", o.defaultK, 1, o.maxK);
  checkInt("bodyLimit", o.bodyLimit, 64, 1 << 30);
  checkInt("maxQueue", o.maxQueue, 1, 1 << 20);
  checkInt("shutdownTimeout", o.shutdownTimeout, 0, 2 ** 31 - 1);
  return o;
}

/**
 * Starts the HTTP server of `annexml serve` on `model`: `POST /predict`
 * (one row in the main thread with one predictor built here, a batch over
 * the worker pool when `threads` > 1), `GET /health`, `GET /info`. With
 * `threads` > 1 the model's arrays should be on shared memory
 * (`readModelFile(path, { shared: true })`), or each worker gets a copy.
 */
export async function startServer(
  model: AnnexmlModel,
  options: Partial<ServeOptions>,
  source: ModelSource,
): Promise<PredictServer> {
  const o = validateServeOptions(options);
  const predictOptions: ModelPredictOptions = { ...o.predict, k: o.maxK };
  const settings = model.predictSettings(predictOptions); // throws BAD_OPTION first
  const predictor = model.predictor(predictOptions);
  const runner: PredictRunner | null =
    o.threads > 1 ? createPredictRunner(model, predictOptions, o.threads) : null;
  const hasNames = model.labelNames !== null;
  const shared = runner !== null;

  const rowAnswer = (ids: Int32Array, scores: Float32Array, from: number, k: number): RowAnswer => {
    let n = 0;
    while (n < k && ids[from + n] >= 0) n++;
    const labels = Array.from(ids.subarray(from, from + n));
    const answer: RowAnswer = { labels, scores: Array.from(scores.subarray(from, from + n)) };
    if (hasNames) answer.names = labels.map((label) => model.labelName(label));
    return answer;
  };

  const predictBatch = async (features: CsrMatrix, k: number): Promise<RowAnswer[]> => {
    normalizeRows(features);
    let pieces: { from: number; result: KnnResult }[];
    if (runner && features.rows > 1) {
      const ranges = splitRows(features.rows, o.threads);
      const results = await Promise.all(
        ranges.map(([from, to]) => runner.predict(features, from, to)),
      );
      pieces = ranges.map(([from], i) => ({ from, result: results[i] }));
    } else {
      pieces = [{ from: 0, result: predictWith(predictor, features) }];
    }
    const out: RowAnswer[] = [];
    for (const { result } of pieces) {
      for (let r = 0; r < result.rows; r++)
        out.push(rowAnswer(result.ids, result.scores, r * result.k, k));
    }
    return out;
  };

  const app = Fastify({
    logger: false,
    bodyLimit: o.bodyLimit,
    // A client must send its whole request within this time, so slow
    // senders cannot hold the queue's places for ever.
    requestTimeout: 30_000,
    return503OnClosing: true,
    forceCloseConnections: "idle",
  });

  let closing = false;
  let inFlight = 0;

  app.setErrorHandler((error: FastifyError | BadRequest | AnnexmlError, _request, reply) => {
    if (error instanceof BadRequest) {
      return reply.code(400).send({ error: error.message, field: error.field });
    }
    if (error instanceof AnnexmlError) {
      return reply.code(400).send({ error: error.message, code: error.code });
    }
    const status = (error as FastifyError).statusCode;
    if (typeof status === "number" && status >= 400 && status < 500) {
      return reply.code(status).send({ error: error.message, code: (error as FastifyError).code });
    }
    process.stderr.write(`annexml serve: internal error: ${error.stack ?? error.message}\n`);
    return reply.code(500).send({ error: "internal error" });
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({
      error: `no route ${request.method} ${request.url} (POST /predict, GET /health, GET /info)`,
    });
  });

  app.get("/health", async (_request, reply) => {
    if (closing) return reply.code(503).send({ status: "shutting down" });
    return { status: "ok" };
  });

  const { topK: _maxK, ...predictSettingsShown } = settings;
  const info = {
    file: source.file,
    fileBytes: source.fileBytes,
    formatVersion: source.formatVersion,
    origin: model.info.origin,
    learners: model.numLearners,
    labels: model.trainLabels.cols,
    features: model.info.data.usedFeatures ?? model.info.data.features,
    trainingRows: model.info.data.rows,
    labelNames: hasNames,
    compact: model.compact,
    params: model.info.params,
    predict: { ...predictSettingsShown, defaultK: o.defaultK, maxK: o.maxK },
    threads: o.threads,
    limits: { bodyLimit: o.bodyLimit, maxQueue: o.maxQueue },
    versions: model.info.versions,
  };
  app.get("/info", async () => info);

  app.post(
    "/predict",
    {
      // Before the body is read: a full queue costs no memory.
      onRequest: (_request, reply, done) => {
        if (inFlight >= o.maxQueue) {
          reply
            .code(503)
            .header("retry-after", "1")
            .send({ error: `busy: ${inFlight} requests in flight (at most ${o.maxQueue})` });
          return;
        }
        inFlight++;
        // 'close' comes once the answer is sent or the client has gone.
        reply.raw.once("close", () => {
          inFlight--;
        });
        done();
      },
    },
    async (request) => {
      const body = parsePredictBody(request.body, { defaultK: o.defaultK, maxK: o.maxK, shared });
      // The parsed JSON (many small arrays) may be 10x the typed arrays it
      // became: let it go while the batch waits for the workers.
      request.body = undefined;
      if (body.kind === "row") {
        const p = predictor.predictRow(body.indices, body.values, body.k);
        const answer: RowAnswer = { labels: Array.from(p.labels), scores: Array.from(p.scores) };
        if (p.names) answer.names = p.names;
        return answer;
      }
      return { results: await predictBatch(body.features, body.k) };
    },
  );

  if (runner) {
    // Each worker builds its predictor on its first task: do it now, not on the first request.
    const row: CsrMatrix = {
      rows: 1,
      cols: 1,
      indptr: new Int32Array(new SharedArrayBuffer(8)),
      indices: new Int32Array(new SharedArrayBuffer(4)),
      values: new Float32Array(new SharedArrayBuffer(4)),
    };
    await Promise.all(Array.from({ length: o.threads }, () => runner.predict(row, 0, 1)));
  }

  try {
    await app.listen({ host: o.host, port: o.port });
  } catch (error) {
    await runner?.close();
    const e = error as NodeJS.ErrnoException;
    throw new AnnexmlError(
      "BAD_OPTION",
      `cannot listen on ${o.host}:${o.port} (${e.code === "EADDRINUSE" ? "the port is in use" : e.message})`,
    );
  }
  const address = app.server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  let closed: Promise<void> | null = null;
  return {
    url: `http://${host}:${address.port}`,
    app,
    close() {
      closing = true;
      closed ??= (async () => {
        // A client that never finishes its request must not hold the stop for ever.
        const cut = setTimeout(() => app.server.closeAllConnections(), o.shutdownTimeout);
        try {
          await app.close();
        } finally {
          clearTimeout(cut);
          await runner?.close();
        }
      })();
      return closed;
    },
  };
}
