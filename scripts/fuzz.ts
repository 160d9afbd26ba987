// Fuzz campaign over the four file readers: dataset text, result files, the
// original C++ AnnexML's model files and our model files. Not part of the
// test command (the property tests in packages/sparse-io/src/fuzz.test.ts
// and apps/cli/src/fuzz.test.ts run a few hundred cases each).
//
//   npx tsx --conditions=@annexml/source scripts/fuzz.ts --cases 20000 --seconds 300
//   ... --target cpp --seed 7 --replay 1234      (replays one case, printing it)
//
// Every case mutates a valid file (bit flips, truncation, huge counts,
// format tokens, random, inserted and deleted bytes) and must either succeed
// with the result's invariants intact or throw an AnnexmlError, within
// --case-ms milliseconds and --case-mb MB of array buffers. Each target runs
// in a child process watched for hangs: a case that makes no progress for
// --hang-ms is killed, reported, and the campaign resumes after it.
import { fork } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import fc from "fast-check";
import {
  applyMutations,
  binaryMutation,
  type CaseOutcome,
  checkDataset,
  checkResultFile,
  DATASET_SEEDS,
  describeError,
  type Mutation,
  mutations,
  RESULT_SEEDS,
  runCase,
  textMutation,
} from "../packages/sparse-io/src/fuzz.testing.js";
import { DatasetParser, parseDataset } from "../packages/sparse-io/src/parser.js";
import { parseResultFile } from "../packages/sparse-io/src/result-file.js";

const TARGETS = ["dataset", "result", "cpp", "model"] as const;
type Target = (typeof TARGETS)[number];

const { values: args } = parseArgs({
  options: {
    cases: { type: "string", default: "20000" },
    seconds: { type: "string", default: "300" },
    target: { type: "string", default: "all" },
    seed: { type: "string", default: "1" },
    replay: { type: "string" },
    "case-ms": { type: "string", default: "2000" },
    "case-mb": { type: "string", default: "64" },
    "hang-ms": { type: "string", default: "30000" },
    child: { type: "string" },
    from: { type: "string", default: "0" },
  },
});

const ROOT = new URL("..", import.meta.url).pathname;
const caseMs = Number(args["case-ms"]);
const caseBytes = Number(args["case-mb"]) * 2 ** 20;
const baseSeed = Number(args.seed);
const encoder = new TextEncoder();

/** One target: the seed files, how to mutate them and how to run one input. */
interface Harness {
  seeds: Uint8Array[];
  mutation: fc.Arbitrary<Mutation>;
  run(bytes: Uint8Array, chunking: number): Promise<CaseOutcome>;
  close(): Promise<void>;
}

async function harness(target: Target): Promise<Harness> {
  const none = async () => {};
  switch (target) {
    case "dataset": {
      const bibtex = readFileSync(join(ROOT, "data/bibtex/train.txt"), "utf8");
      const head = bibtex.split("\n").slice(1, 31).join("\n");
      return {
        seeds: [...DATASET_SEEDS, `30 1836 159\n${head}\n`].map((s) => encoder.encode(s)),
        mutation: textMutation(),
        run: (bytes, chunking) =>
          runCase(() => {
            if (chunking === 0) return parseDataset(bytes);
            const parser = new DatasetParser({ checkHeader: chunking % 2 === 0 });
            for (let at = 0; at < bytes.length; at += chunking)
              parser.push(bytes.subarray(at, at + chunking));
            return parser.finish();
          }, checkDataset),
        close: none,
      };
    }
    case "result": {
      const fixture = readFileSync(join(ROOT, "packages/eval/fixtures/bibtex/result-graph.txt"));
      const head = new Uint8Array(fixture.subarray(0, fixture.indexOf(10, 4000) + 1));
      return {
        seeds: [...RESULT_SEEDS.map((s) => encoder.encode(s)), head],
        mutation: textMutation(),
        run: (bytes) => runCase(() => parseResultFile(bytes), checkResultFile),
        close: none,
      };
    }
    case "cpp": {
      // The CLI's modules load only for the model targets (the text targets need none of them).
      const { checkModel, cppSeedModel } = await import("../apps/cli/src/fuzz.testing.js");
      const { importCppModelFrom, memorySource, readCppModel } = await import(
        "../apps/cli/src/import/index.js"
      );
      const fixture = new Uint8Array(
        readFileSync(join(ROOT, "apps/cli/fixtures/cpp-bibtex-2learners/model.bin")),
      );
      const small = cppSeedModel();
      return {
        // The small model is imported and predicted with; the bibtex one (3 MB) only read.
        seeds: [small, small, small, fixture],
        mutation: binaryMutation(),
        run: (bytes) =>
          bytes.length < 1 << 16
            ? runCase(() => importCppModelFrom(memorySource(bytes, "model.bin")), checkModel)
            : runCase(() => readCppModel(memorySource(bytes, "model.bin"))),
        close: none,
      };
    }
    case "model": {
      const { modelFileCase, ourSeedModel } = await import("../apps/cli/src/fuzz.testing.js");
      const seed = await ourSeedModel();
      const dir = await mkdtemp(join(tmpdir(), "annexml-fuzz-"));
      return {
        seeds: [seed],
        mutation: binaryMutation(),
        run: modelFileCase(dir),
        close: () => rm(dir, { recursive: true, force: true }),
      };
    }
  }
}

/** The input of case `i`: a seed file, its mutations and a chunk size, all from the case's seed. */
function caseInput(h: Harness, i: number) {
  const arb = fc.tuple(
    fc.nat(h.seeds.length - 1),
    mutations(h.mutation),
    fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 64 })),
  );
  const [seedIndex, list, chunking] = fc.sample(arb, {
    seed: baseSeed * 1_000_003 + i,
    numRuns: 1,
  })[0];
  return { seedIndex, list, chunking, bytes: applyMutations(h.seeds[seedIndex], list) };
}

/** Why an outcome is a failure, or null. */
function failureOf(o: CaseOutcome): string | null {
  if (o.result === "bug") return describeError(o.error);
  if (o.milliseconds > caseMs) return `slow: ${o.milliseconds.toFixed(0)} ms`;
  if (o.arrayBufferBytes > caseBytes)
    return `memory: ${(o.arrayBufferBytes / 2 ** 20).toFixed(0)} MB of array buffers`;
  return null;
}

type Message =
  | { type: "start"; i: number }
  | { type: "fail"; i: number; why: string }
  | { type: "done"; cases: number; maxCaseMs: number; peakRssMb: number };

/** Child: runs cases `from ..` of one target until the case or time budget is spent. */
async function child(target: Target): Promise<void> {
  const send = (m: Message) => process.send?.(m);
  const h = await harness(target);
  const deadline = Date.now() + Number(args.seconds) * 1000;
  const last = Number(args.cases);
  let cases = 0;
  let maxCaseMs = 0;
  // Back to the event loop before each case, so the parent receives its
  // "start" (a case that hangs the loop then names itself).
  const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
  for (let i = Number(args.from); i < last && Date.now() < deadline; i++) {
    send({ type: "start", i });
    await flush();
    const { bytes, chunking } = caseInput(h, i);
    const outcome = await h.run(bytes, chunking);
    cases++;
    maxCaseMs = Math.max(maxCaseMs, outcome.milliseconds);
    const why = failureOf(outcome);
    if (why) send({ type: "fail", i, why });
  }
  await h.close();
  const done: Message = {
    type: "done",
    cases,
    maxCaseMs,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  };
  process.send?.(done, () => process.disconnect?.());
}

/** Parent: one watched child per target, restarted after a hang. */
async function campaign(target: Target) {
  const started = Date.now();
  const budget = Number(args.seconds) * 1000;
  let from = 0;
  let cases = 0;
  let maxCaseMs = 0;
  let peakRssMb = 0;
  const failures: { i: number; why: string }[] = [];
  while (from < Number(args.cases) && Date.now() - started < budget) {
    const seconds = Math.max(1, Math.round((budget - (Date.now() - started)) / 1000));
    const argv = ["--child", target, "--from", String(from), "--seconds", String(seconds)];
    for (const k of ["cases", "seed", "case-ms", "case-mb"] as const)
      argv.push(`--${k}`, String(args[k]));
    const proc = fork(process.argv[1], argv, { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    let current = from;
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        failures.push({ i: current, why: `hang: no progress for ${args["hang-ms"]} ms` });
        proc.kill("SIGKILL");
      }, Number(args["hang-ms"]));
    };
    arm();
    proc.on("message", (m: Message) => {
      arm();
      if (m.type === "start") current = m.i;
      else if (m.type === "fail") failures.push({ i: m.i, why: m.why });
      else {
        done = true;
        cases += m.cases;
        maxCaseMs = Math.max(maxCaseMs, m.maxCaseMs);
        peakRssMb = Math.max(peakRssMb, m.peakRssMb);
      }
    });
    const code = await new Promise<number | null>((resolve) => proc.on("exit", resolve));
    clearTimeout(timer);
    if (done) break;
    // Killed (hang) or crashed: count the cases it got through and resume after the culprit.
    if (!failures.some((f) => f.i === current))
      failures.push({ i: current, why: `child exited with ${code}` });
    cases += current - from + 1;
    from = current + 1;
  }
  return { target, cases, failures, maxCaseMs, peakRssMb, seconds: (Date.now() - started) / 1000 };
}

async function replay(target: Target, i: number): Promise<void> {
  const h = await harness(target);
  const input = caseInput(h, i);
  console.log(
    JSON.stringify({
      target,
      case: i,
      seed: input.seedIndex,
      chunking: input.chunking,
      mutations: input.list,
    }),
  );
  const outcome = await h.run(input.bytes, input.chunking);
  console.log(outcome.result, failureOf(outcome) ?? "(no failure)");
  if (outcome.error) console.log(outcome.error);
  await h.close();
}

async function main(): Promise<void> {
  if (args.child) return child(args.child as Target);
  const targets = args.target === "all" ? [...TARGETS] : (args.target.split(",") as Target[]);
  for (const t of targets) {
    if (!TARGETS.includes(t))
      throw new Error(`--target must be all or one of ${TARGETS.join(", ")}, but is ${t}`);
  }
  if (args.replay !== undefined) return replay(targets[0], Number(args.replay));
  let total = 0;
  for (const t of targets) {
    const r = await campaign(t);
    total += r.failures.length;
    console.log(
      `${t}: ${r.cases} cases in ${r.seconds.toFixed(0)} s, ${r.failures.length} failures, ` +
        `slowest case ${r.maxCaseMs.toFixed(1)} ms, peak RSS ${r.peakRssMb.toFixed(0)} MB`,
    );
    const bySignature = new Map<string, { count: number; first: number }>();
    for (const f of r.failures) {
      const key = f.why.replace(/\d+/g, "N").slice(0, 160);
      const entry = bySignature.get(key) ?? { count: 0, first: f.i };
      entry.count++;
      bySignature.set(key, entry);
    }
    for (const [key, { count, first }] of bySignature) {
      console.log(
        `  ${count} x ${key}\n    replay: --target ${t} --seed ${baseSeed} --replay ${first}`,
      );
    }
  }
  process.exitCode = total > 0 ? 1 : 0;
}

await main();
