import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import type { EvalCommandOptions } from "./commands/eval.js";
import { IMPORT_OPTIONS_HELP } from "./commands/import.js";
import { addServeCommand } from "./commands/serve.js";
import { paramsHelp } from "./config.js";
import { describeError } from "./errors.js";
import { DEFAULT_WORKER_OPTIONS } from "./queue/defaults.js";
import { VERSION } from "./version.js";

// Each command's module is imported when the command runs: a fresh process
// then loads only what that command needs (the queue's BullMQ and ioredis,
// serve's fastify, training and evaluation code cost about 0.3 s of CPU to
// load, more than a small prediction itself).

/** Builds the `annexml` command line program (one sub-command per module). */
export function buildProgram(): Command {
  const program = new Command("annexml")
    .description("AnnexML extreme multi-label classification: train, predict, evaluate, inspect.")
    .version(VERSION, "-V, --version")
    .showHelpAfterError("(run with --help for usage)")
    .configureHelp({ sortSubcommands: false })
    // Throw instead of exiting, so main() owns exit codes (set before adding
    // sub-commands: they copy these settings when created).
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  const trainHelp = `\nParameters (JSON keys of CONFIG.json, or key=value arguments; later wins):\n${paramsHelp((spec) => spec.use !== "predict")}\n`;
  program
    .command("train")
    .description(
      "Train a model: annexml train CONFIG.json [key=value ...] (the original AnnexML's command line).",
    )
    .argument("<config>", "JSON file of parameters (see annexml-example.json)")
    .argument("[overrides...]", "key=value parameters overriding the config, e.g. num_thread=2")
    .addHelpText("after", trainHelp)
    .action(async (config: string, overrides: string[]) => {
      const { runTrain } = await import("./commands/train.js");
      await runTrain(config, overrides);
    });

  program
    .command("worker")
    .description(
      "Run the tasks of queued training runs (annexml train CONFIG queue=redis://HOST:PORT work_dir=DIR), on any number of machines: annexml worker --queue redis://HOST:PORT [--threads N]. work_dir must be the same shared directory, at the same path, on every machine. SIGINT/SIGTERM: finish the running tasks, then exit.",
    )
    .requiredOption("--queue <url>", "the Redis of the queue, redis://HOST:PORT")
    .addOption(
      new Option("--threads <n>", "tasks run at once, one thread each")
        .default(DEFAULT_WORKER_OPTIONS.threads)
        .argParser(parsePositiveInt("threads")),
    )
    .addOption(
      new Option(
        "--lock-ms <ms>",
        "a task whose worker stops renewing its lock for this long (killed, machine lost) goes to another worker",
      )
        .default(DEFAULT_WORKER_OPTIONS.lockMs)
        .argParser(parsePositiveInt("lock-ms")),
    )
    .action(async (options: { queue: string; threads: number; lockMs: number }) => {
      const { runWorker } = await import("./queue/worker.js");
      await runWorker({ url: options.queue, threads: options.threads, lockMs: options.lockMs });
    });

  program
    .command("predict")
    .description(
      "Predict the top 10 labels of every row of predict_file into result_file: annexml predict CONFIG.json [key=value ...]. Only the prediction parameters apply (num_learner, num_nn, pred_type, num_edge, search_eps, vote_power, vote_beta, learner_norm, vote_merge, vote_propensity, num_thread, verbose, files).",
    )
    .argument("<config>", "JSON file of parameters")
    .argument(
      "[overrides...]",
      "key=value parameters overriding the config, e.g. predict_file=- result_file=-",
    )
    .addHelpText(
      "after",
      `\nPrediction parameters:\n${paramsHelp((spec) => spec.use !== "train")}\n`,
    )
    .action(async (config: string, overrides: string[]) => {
      const { runPredict } = await import("./commands/predict.js");
      await runPredict(config, overrides);
    });

  addServeCommand(program);

  program
    .command("info")
    .description("Show what a model holds: parameters, sizes, training statistics, versions.")
    .argument("<model-file>", "a model written by annexml train or annexml import")
    .option("--json", "print one JSON object instead of text")
    .action(async (file: string, options: { json?: boolean }) => {
      const { runInfo } = await import("./commands/info.js");
      print(await runInfo(file, options.json === true));
    });

  program
    .command("compact")
    .description(
      "Rewrite a model smaller: projection weights and embeddings as float16 (or int8 with one scale per row), search graphs as u16; decoded to float32 on load. annexml compact IN_MODEL OUT_MODEL [--to f16|int8].",
    )
    .argument("<in-model>", "a model written by annexml train, import or compact")
    .argument("<out-model>", "the compact model to write")
    .option("--to <storage>", "f16 (about 2x smaller) or int8 (about 3x smaller)", "f16")
    .action(async (input: string, output: string, options: { to: string }) => {
      const { runCompact } = await import("./commands/compact.js");
      print(await runCompact(input, output, options.to));
    });

  program
    .command("merge")
    .description(
      "Join learner shards of one training run (train ... learners=0-4) into one model, byte-identical to training all learners at once: annexml merge SHARD... -o OUT_MODEL. The shards must come from the same data, parameters and version.",
    )
    .argument("<shards...>", "models written by annexml train with learners=...")
    .requiredOption("-o, --output <model>", "the merged model to write")
    .action(async (inputs: string[], options: { output: string }) => {
      const { runMerge } = await import("./commands/merge.js");
      print(await runMerge(inputs, options.output));
    });

  program
    .command("import")
    .description(
      "Convert a model of the original C++ AnnexML into an annexml model (search graphs built and stored): annexml import ORIGINAL_MODEL.bin OUT_MODEL [key=value ...].",
    )
    .argument("<original-model>", "model.bin written by the original AnnexML's train")
    .argument("<out-model>", "the annexml model to write")
    .argument("[settings...]", "num_thread=N verbose=0|1 feature0=original|trained")
    .addHelpText("after", `\nSettings (key=value):\n${IMPORT_OPTIONS_HELP}\n`)
    .action(async (input: string, output: string, settings: string[]) => {
      const { runImport } = await import("./commands/import.js");
      await runImport(input, output, settings);
    });

  program
    .command("eval")
    .description(
      "Evaluate a prediction result file (true_labels<TAB>label:score,...): P@k and nDCG@k, and with --train the propensity-scored PSP@k and PSnDCG@k. Prints the lines of the original AnnexML evaluation scripts.",
    )
    .argument(
      "<result-file>",
      "result file written by `annexml predict` (or the original AnnexML); - for stdin",
    )
    .option("--train <train-file>", "training data, for the label propensities of PSP@k / PSnDCG@k")
    .addOption(
      new Option("-A, --A <a>", "propensity parameter A (Amazon: 0.6, Wikipedia: 0.5)")
        .default(0.55)
        .argParser(parseNumber("A")),
    )
    .addOption(
      new Option("-B, --B <b>", "propensity parameter B (Amazon: 2.6, Wikipedia: 0.4)")
        .default(1.5)
        .argParser(parseNumber("B")),
    )
    .addOption(
      new Option("--k <k>", "largest k reported").default(5).argParser(parsePositiveInt("k")),
    )
    .option("--json", "print one JSON object instead of text")
    .action(async (file: string, options: EvalCommandOptions) => {
      const { runEval } = await import("./commands/eval.js");
      print(await runEval(file, options));
    });

  program
    .command("stats")
    .description(
      "Summarise a dataset file (rows, features, labels, label frequencies) and how fast it reads.",
    )
    .argument(
      "<data-file>",
      "dataset in multi-label svmlight / XMC text format (.gz or - for stdin accepted)",
    )
    .option("--json", "print one JSON object instead of text")
    .action(async (file: string, options: { json?: boolean }) => {
      const { computeStats, formatStats } = await import("./commands/stats.js");
      const stats = await computeStats(file);
      print(options.json ? JSON.stringify(stats) : formatStats(stats));
    });

  return program;
}

function parseNumber(name: string) {
  return (text: string): number => {
    const value = Number(text);
    if (text.trim() === "" || !Number.isFinite(value)) {
      throw new InvalidArgumentError(`${name} must be a number, but is '${text}'`);
    }
    return value;
  };
}

function parsePositiveInt(name: string) {
  return (text: string): number => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1) {
      throw new InvalidArgumentError(`${name} must be a positive integer, but is '${text}'`);
    }
    return value;
  };
}

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** Runs the program on `argv` (without node and script) and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (error) {
    // Commander has printed its message; usage errors exit with 2 like other CLIs.
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    const { message, exitCode } = describeError(error);
    process.stderr.write(`annexml: ${message}\n`);
    return exitCode;
  }
}
