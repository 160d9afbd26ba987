// `annexml worker --queue URL`: takes training tasks from the queue and runs
// them on a pool of threads, reading the data from and writing the results
// to the run's directory in work_dir.

import { stat } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { embeddingModelFromArrays } from "@annexml/embed";
import { AtomicFileWriter } from "@annexml/sparse-io";
import { type Job, UnrecoverableError, Worker } from "bullmq";
import { createTrainRunner, type TrainRunner } from "../engine/runner.js";
import type { PartitionResult, TrainingData, TrainSettings } from "../engine/tasks.js";
import { searchGraphOptions } from "../engine/tasks.js";
import { groupByPartition } from "../engine/trainer.js";
import { readObjectFile, writeObjectFile } from "./codec.js";
import {
  checkQueueUrl,
  checkRedis,
  connectionOptions,
  QUEUE_NAME,
  RUN_FILES,
  runDir,
  softwareIdentity,
  type TaskJob,
} from "./protocol.js";
import { mismatchMessage } from "./runner.js";

/** Options of {@link runWorker}. */
export interface QueueWorkerOptions {
  /** `redis://HOST:PORT`. */
  url: string;
  /** Tasks run at once, each on its own thread. */
  threads: number;
  /**
   * Milliseconds a task stays with this worker after it stops renewing its
   * lock (killed, machine gone): then another worker runs it again.
   */
  lockMs: number;
  /** Where the worker's one-line log goes (stdout by default). */
  log?: (line: string) => void;
}

/** One run's state in a worker: its data on its thread pool, its partitions' row groups. */
interface RunState {
  settings: TrainSettings;
  runner: TrainRunner;
  groups: Map<number, Promise<Int32Array[]>>;
  active: number;
}

/**
 * Runs queued training tasks until SIGINT or SIGTERM (then finishes the
 * tasks it runs and returns) or `signal` aborts. Redis unreachable: an
 * `AnnexmlError` `QUEUE_UNAVAILABLE` within seconds. A task queued by
 * another version of the software, or whose work_dir this worker does not
 * see, fails at once (no retry) with a message naming both versions or the
 * path.
 */
export async function runWorker(options: QueueWorkerOptions, signal?: AbortSignal): Promise<void> {
  const url = checkQueueUrl(options.url, "--queue");
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  await checkRedis(url);
  // This command handles SIGINT / SIGTERM itself (finish the running tasks,
  // then exit): not the CLI's remove-the-temporary-file-and-die handlers,
  // which would end a task while its result is being written.
  AtomicFileWriter.onLiveChange(null);
  const software = softwareIdentity();
  const runs = new Map<string, Promise<RunState>>();
  const freeSlots = Array.from({ length: options.threads }, (_, i) => i);

  const loadRun = (job: TaskJob, dir: string): Promise<RunState> => {
    let run = runs.get(job.runKey);
    if (!run) {
      run = (async () => {
        // One run at a time is kept: a new run's data replaces idle ones.
        for (const [key, other] of runs) {
          const state = await other;
          if (key !== job.runKey && state.active === 0) {
            runs.delete(key);
            await state.runner.close();
          }
        }
        const file = join(dir, RUN_FILES.data);
        const loaded = await readObjectFile<{ data: TrainingData; settings: TrainSettings }>(
          file,
          true,
        );
        if (!loaded) throw notShared(job.workDir, file);
        const { data, settings } = loaded;
        const runner = createTrainRunner(data, settings, options.threads, options.threads);
        return { settings, runner, groups: new Map(), active: 0 };
      })();
      runs.set(job.runKey, run);
      run.catch(() => runs.delete(job.runKey));
    }
    return run;
  };

  const groupsOf = (run: RunState, dir: string, job: TaskJob): Promise<Int32Array[]> => {
    let groups = run.groups.get(job.learner);
    if (!groups) {
      groups = (async () => {
        const file = join(dir, RUN_FILES.partition(job.learner));
        const partition = await readObjectFile<PartitionResult>(file);
        if (!partition) throw notShared(job.workDir, file);
        return groupByPartition(partition.assignment, partition.arrays.k);
      })();
      run.groups.set(job.learner, groups);
      groups.catch(() => run.groups.delete(job.learner));
    }
    return groups;
  };

  const process_ = async (job: Job<TaskJob, string>): Promise<string> => {
    const task = job.data;
    if (task.software !== software)
      throw new UnrecoverableError(mismatchMessage(task.software, software));
    const dir = runDir(task.workDir, task.runKey);
    if (!(await isFile(join(dir, RUN_FILES.data)))) {
      throw new UnrecoverableError(notShared(task.workDir, join(dir, RUN_FILES.data)).message);
    }
    const name =
      task.part === undefined
        ? RUN_FILES.partition(task.learner)
        : RUN_FILES.part(task.learner, task.part);
    const file = join(dir, name);
    if (await intact(file)) {
      log(`annexml worker: ${job.id} reused (its result is in work_dir)`);
      return name;
    }
    const start = performance.now();
    log(`annexml worker: ${job.id} start`);
    const run = await loadRun(task, dir);
    const slot = freeSlots.pop() ?? -1;
    run.active++;
    if (slot >= 0) Atomics.store(run.runner.board.slots, slot, 0);
    let last = -1;
    const timer = setInterval(() => {
      const fraction = slot >= 0 ? run.runner.board.fraction(slot) : 0;
      if (fraction === last) return;
      last = fraction;
      job.updateProgress(fraction).catch(() => {});
    }, 1000);
    try {
      if (task.part === undefined) {
        const result = await run.runner.partition(task.learner, slot);
        await writeObjectFile(file, result);
      } else {
        const rows = (await groupsOf(run, dir, task))[task.part];
        if (!rows)
          throw new UnrecoverableError(`learner ${task.learner} has no partition ${task.part}`);
        const embedding = await run.runner.part(task.learner, task.part, rows, slot);
        const vectors = embeddingModelFromArrays(embedding).embeddings;
        const index = await run.runner.index(
          vectors,
          searchGraphOptions(run.settings, task.learner, task.part),
        );
        await writeObjectFile(file, { embedding, index });
      }
    } finally {
      clearInterval(timer);
      run.active--;
      if (slot >= 0) freeSlots.push(slot);
    }
    log(`annexml worker: ${job.id} done in ${((performance.now() - start) / 1000).toFixed(2)} s`);
    return name;
  };

  const worker = new Worker<TaskJob, string>(QUEUE_NAME, process_, {
    connection: connectionOptions(url),
    concurrency: options.threads,
    lockDuration: options.lockMs,
    stalledInterval: options.lockMs,
    // A task whose worker died twice is still run a third time.
    maxStalledCount: 2,
    autorun: false,
  });
  worker.on("failed", (job, error) => {
    process.stderr.write(`annexml worker: ${job?.id ?? "a task"} failed: ${error.message}\n`);
  });
  worker.on("error", (error) => {
    process.stderr.write(`annexml worker: ${error.message}\n`);
  });
  const stopped = new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (why: string) => {
      if (stopping) {
        // A second signal: leave now (the tasks go to other workers), no temporary file left.
        AtomicFileWriter.abortAllSync();
        process.exit(130);
      }
      stopping = true;
      log(`annexml worker: ${why}: finishing the running tasks`);
      // BullMQ's close waits on promises no socket or timer holds: keep the process up meanwhile.
      const keepAlive = setInterval(() => {}, 1000);
      void worker.close().then(async () => {
        for (const run of runs.values()) await (await run.catch(() => null))?.runner.close();
        clearInterval(keepAlive);
        log("annexml worker: stopped");
        resolve();
      });
    };
    const onSignal = (name: NodeJS.Signals) => stop(name);
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    signal?.addEventListener("abort", () => stop("stopped"));
  });
  await worker.waitUntilReady();
  log(
    `annexml worker: ${hostname()} pid ${process.pid} on ${url}, ${options.threads} thread${options.threads > 1 ? "s" : ""}, ${softwareIdentity().split(" ")[0]}`,
  );
  void worker.run();
  await stopped;
}

/** The error of a worker that does not see the coordinator's work_dir. */
function notShared(workDir: string, file: string): Error {
  return new Error(
    `work_dir ${workDir} is not shared with this worker (${hostname()}): ${file} is not there; work_dir must be one shared directory at the same path on every machine`,
  );
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** Whether `path` holds an intact result (a damaged one is redone). */
async function intact(path: string): Promise<boolean> {
  try {
    return (await readObjectFile(path)) !== null;
  } catch {
    return false;
  }
}
