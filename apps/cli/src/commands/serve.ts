import { open } from "node:fs/promises";
import {
  applyOverrides,
  defaultParams,
  type ModelPredictOptions,
  PARAM_NAMES,
  PARAMS,
  PREDICT_OPTIONS,
  paramsHelp,
  peekVersion,
  predictOptionsOf,
} from "@annexml/model";
import { AnnexmlError } from "@annexml/sparse-io";
import { type Command, InvalidArgumentError, Option } from "commander";
import { rebuildGraphs } from "../engine/predict-file.js";
import { readModelFile } from "../model/files.js";
import { DEFAULT_SERVE_OPTIONS } from "../serve/options.js";
import type { PredictServer } from "../serve/server.js";
import { INTERRUPT_SIGNALS, type InterruptSignal } from "../signals.js";

/** The command line options of `annexml serve` (commander's camelCase). */
export interface ServeCommandOptions {
  host: string;
  port: number;
  threads: number;
  k: number;
  maxK: number;
  bodyLimit: number;
  maxQueue: number;
}

/** The `key=value` parameters `serve` takes: the prediction ones (threads are `--threads`). */
const SERVE_PARAMS = PARAM_NAMES.filter(
  (name) =>
    PARAMS[name].use !== "train" &&
    PARAMS[name].kind !== "path" &&
    name !== "num_thread" &&
    name !== "verbose",
);

/**
 * The prediction options of `key=value` arguments: only those given (the
 * others keep the model's), and `num_edge` when given. Throws `BAD_OPTION`
 * naming a bad or unknown key.
 */
export function servePredictOptions(settings: readonly string[]): {
  options: Omit<ModelPredictOptions, "k">;
  numEdge?: number;
} {
  const given = new Set<string>();
  for (const arg of settings) {
    const key = arg.slice(0, Math.max(arg.indexOf("="), 0));
    if (key !== "" && !SERVE_PARAMS.includes(key as never)) {
      const hint = key === "num_thread" ? " (use --threads)" : "";
      throw new AnnexmlError(
        "BAD_OPTION",
        `parameter '${key}' does not apply to serve${hint}; serve takes ${SERVE_PARAMS.join(", ")}`,
      );
    }
    given.add(key);
  }
  const params = applyOverrides(defaultParams(), settings); // checks syntax, types and ranges
  const all = predictOptionsOf(params) as Record<string, unknown>;
  const options: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(PREDICT_OPTIONS)) {
    if (given.has(spec.param)) options[name] = all[name];
  }
  return {
    options: options as Omit<ModelPredictOptions, "k">,
    ...(given.has("num_edge") ? { numEdge: params.num_edge } : {}),
  };
}

/** The model file's format version (from its first bytes). */
async function formatVersion(path: string): Promise<number> {
  const file = await open(path, "r");
  try {
    const head = new Uint8Array(12);
    await file.read(head, 0, 12, 0);
    return peekVersion(head, path);
  } finally {
    await file.close();
  }
}

/**
 * Starts the server of `annexml serve MODEL [key=value ...]`; prints
 * `listening on URL` on stderr. Resolves with the server (stop it with
 * `close()`).
 */
export async function startServe(
  modelFile: string,
  settings: readonly string[],
  o: ServeCommandOptions,
): Promise<PredictServer> {
  const { options, numEdge } = servePredictOptions(settings);
  const { model, fileBytes } = await readModelFile(modelFile, { shared: o.threads > 1 });
  if (numEdge !== undefined && numEdge !== model.info.params.num_edge)
    rebuildGraphs(model, numEdge);
  const { startServer } = await import("../serve/server.js");
  const server = await startServer(
    model,
    {
      host: o.host,
      port: o.port,
      threads: o.threads,
      predict: options,
      defaultK: o.k,
      maxK: o.maxK,
      bodyLimit: o.bodyLimit,
      maxQueue: o.maxQueue,
    },
    { file: modelFile, fileBytes, formatVersion: await formatVersion(modelFile) },
  );
  process.stderr.write(
    `listening on ${server.url} (${model.numLearners} learners, ${o.threads} thread${o.threads === 1 ? "" : "s"})\n`,
  );
  return server;
}

/**
 * `annexml serve`: serves until SIGTERM, SIGINT or SIGHUP, then stops
 * gracefully (no new requests, the ones in flight answered, the workers
 * ended) and resolves, so the process exits 0. A second signal during the
 * stop ends the process at once (128 + the signal's number).
 */
export async function runServe(
  modelFile: string,
  settings: readonly string[],
  o: ServeCommandOptions,
): Promise<void> {
  const server = await startServe(modelFile, settings, o);
  const signal = await new Promise<InterruptSignal>((resolve) => {
    for (const name of Object.keys(INTERRUPT_SIGNALS) as InterruptSignal[]) {
      process.once(name, () => {
        process.once(name, () => process.exit(128 + INTERRUPT_SIGNALS[name]));
        resolve(name);
      });
    }
  });
  process.stderr.write(`annexml serve: ${signal}: finishing the requests in flight\n`);
  await server.close();
  process.stderr.write("annexml serve: stopped\n");
}

function intOption(name: string, min: number, max: number) {
  return (text: string): number => {
    const value = Number(text);
    if (text.trim() === "" || !Number.isInteger(value) || value < min || value > max) {
      throw new InvalidArgumentError(
        `${name} must be an integer from ${min} to ${max}, but is '${text}'`,
      );
    }
    return value;
  };
}

/** Adds `annexml serve` to the program. */
export function addServeCommand(program: Command): void {
  const d = DEFAULT_SERVE_OPTIONS;
  program
    .command("serve")
    .description(
      "Serve a model over HTTP (JSON): POST /predict (one row or a batch), GET /health, GET /info. annexml serve MODEL [key=value ...]; stops gracefully on SIGTERM / SIGINT.",
    )
    .argument("<model-file>", "a model written by annexml train, import or compact")
    .argument("[settings...]", "prediction parameters key=value, e.g. num_nn=20 search_eps=0.1")
    .option("--host <host>", "address to listen on", d.host)
    .addOption(
      new Option("--port <port>", "TCP port (0 = any free port; the address is printed on stderr)")
        .default(d.port)
        .argParser(intOption("port", 0, 65535)),
    )
    .addOption(
      new Option("--threads <n>", "worker threads for batches (single rows run in the main thread)")
        .default(d.threads)
        .argParser(intOption("threads", 1, 1024)),
    )
    .addOption(
      new Option("--k <k>", "labels per row when a request gives no k")
        .default(d.defaultK)
        .argParser(intOption("k", 1, 1 << 20)),
    )
    .addOption(
      new Option("--max-k <k>", "largest k a request may ask for")
        .default(d.maxK)
        .argParser(intOption("max-k", 1, 1 << 20)),
    )
    .addOption(
      new Option("--body-limit <bytes>", "largest request body (larger: 413)")
        .default(d.bodyLimit)
        .argParser(intOption("body-limit", 64, 1 << 30)),
    )
    .addOption(
      new Option(
        "--max-queue <n>",
        "POST /predict requests in flight at once (more: 503 with Retry-After)",
      )
        .default(d.maxQueue)
        .argParser(intOption("max-queue", 1, 1 << 20)),
    )
    .addHelpText(
      "after",
      `\nPrediction parameters (key=value):\n${paramsHelp((spec) => SERVE_PARAMS.some((n) => PARAMS[n] === spec))}\n`,
    )
    .action(async (file: string, settings: string[], options: ServeCommandOptions) => {
      await runServe(file, settings, options);
    });
}
