// The coordinator's side of a queued run: a TrainRunner whose tasks are
// BullMQ jobs run by `annexml worker` processes. The data and the results
// go through work_dir; Redis carries only the jobs and their file names.

import { createHash } from "node:crypto";
import { mkdir, rm, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { IndexArrays } from "@annexml/ann-search";
import type { EmbeddingArrays } from "@annexml/embed";
import { AnnexmlError } from "@annexml/sparse-io";
import { type Job, Queue, QueueEvents } from "bullmq";
import { Redis } from "ioredis";
import type { TrainRunner } from "../engine/runner.js";
import type { PartitionResult, TrainingData, TrainSettings } from "../engine/tasks.js";
import { ProgressBoard } from "../engine/work.js";
import type { Reporter } from "../progress.js";
import { readObjectFile, writeObjectFile } from "./codec.js";
import {
  checkQueueUrl,
  checkRedis,
  cliVersionOf,
  connectionOptions,
  jobId,
  QUEUE_NAME,
  RUN_FILES,
  runDir,
  softwareIdentity,
  type TaskJob,
} from "./protocol.js";

/** A (learner, partition) task's result file: its embedding and search graph. */
export interface PartResult {
  embedding: EmbeddingArrays;
  index: IndexArrays;
}

/** What a queued run needs besides the data and settings. */
export interface QueueRunnerOptions {
  /** `redis://HOST:PORT` (the `queue` parameter). */
  url: string;
  /** The shared directory (the `work_dir` parameter). */
  workDir: string;
  /** Progress slots (as {@link createTrainRunner}'s `slots`). */
  slots: number;
  reporter?: Reporter;
}

/**
 * The run key: a hash of the prepared data, the task settings, the
 * software and the work_dir's absolute path. The same command on the same data finds the same key, hence
 * the same files and job ids (resume); any change makes a new run.
 */
export function runKeyOf(
  data: TrainingData,
  settings: TrainSettings,
  software: string,
  workDir: string,
): string {
  const hash = createHash("sha256");
  const add = (array: ArrayBufferView) =>
    hash.update(new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
  const { features, labels, allRowsPositives } = data;
  hash.update(JSON.stringify({ f: [features.rows, features.cols], l: [labels.rows, labels.cols] }));
  for (const a of [
    features.indptr,
    features.indices,
    features.values,
    labels.indptr,
    labels.indices,
  ])
    add(a);
  if (allRowsPositives) {
    hash.update(`positives ${allRowsPositives.k}`);
    add(allRowsPositives.ids);
    add(allRowsPositives.scores);
  }
  hash.update(JSON.stringify(settings));
  hash.update(software);
  // Two runs of the same training into two work_dirs are two runs (their own job ids).
  hash.update(workDir);
  return hash.digest("hex").slice(0, 20);
}

/**
 * A {@link TrainRunner} over a BullMQ queue: writes the prepared data to
 * work_dir once per run key, enqueues each learner's partitioner and each
 * (learner, partition) task under a deterministic job id, and reads the
 * results the workers write. A result file already in work_dir (from an
 * earlier, interrupted run of the same command) is used as it is.
 * `executed` / `reused` count the tasks. Redis unreachable: an
 * `AnnexmlError` `QUEUE_UNAVAILABLE` within seconds; a task that fails on
 * a worker: `QUEUE_TASK_FAILED` with the worker's reason.
 */
export async function createQueueRunner(
  data: TrainingData,
  settings: TrainSettings,
  options: QueueRunnerOptions,
): Promise<TrainRunner & { runKey: string; stats: { queued: number; reused: number } }> {
  const url = checkQueueUrl(options.url, "parameter 'queue'");
  if (!options.workDir) {
    throw new AnnexmlError(
      "BAD_OPTION",
      "parameter 'work_dir' is required with queue=...: a directory every worker sees at the same path",
    );
  }
  await checkRedis(url);
  // Workers run elsewhere (another cwd, another machine): the absolute path.
  const workDir = resolve(options.workDir);
  const software = softwareIdentity();
  const runKey = runKeyOf(data, settings, software, workDir);
  const dir = runDir(workDir, runKey);
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    throw new AnnexmlError(
      "FILE_UNWRITABLE",
      `cannot create the run directory (${(error as Error).message})`,
      { file: dir },
    );
  }
  const dataFile = join(dir, RUN_FILES.data);
  if (!(await exists(dataFile))) {
    options.reporter?.info(`Writing the prepared training data to ${dataFile}`);
    await writeObjectFile(dataFile, { data, settings });
  }
  options.reporter?.info(`Queue ${url}, run ${runKey} in ${dir}`);

  const connection = connectionOptions(url);
  const queue = new Queue<TaskJob>(QUEUE_NAME, { connection });
  const events = new QueueEvents(QUEUE_NAME, { connection });
  queue.on("error", () => {});
  events.on("error", () => {});
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
  const connected = (await queue.getWorkers()).length;
  options.reporter?.info(
    connected
      ? `${connected} worker${connected > 1 ? "s" : ""} connected`
      : `No worker is connected yet: the tasks wait for one (annexml worker --queue ${url})`,
  );

  const board = new ProgressBoard(options.slots);
  const slotOf = new Map<string, number>();
  events.on("progress", ({ jobId: id, data: progress }) => {
    const slot = slotOf.get(id);
    if (slot !== undefined && typeof progress === "number") board.reporter(slot)(progress);
  });
  const stats = { queued: 0, reused: 0 };
  /** A task failed or Redis was lost: the run's waiting jobs are dropped on close. */
  let failed = false;
  // Redis lost mid-run (BullMQ's connections would wait for it forever):
  // after LOST_MS without an answer to a ping, every waiting call rejects.
  let reportLost: (error: Error) => void = () => {};
  const lost = new Promise<never>((_, reject) => {
    reportLost = reject;
  });
  lost.catch(() => {});
  // Its own connection, failing fast while Redis is away (and reconnecting).
  const probe = new Redis(url, { maxRetriesPerRequest: 0, enableOfflineQueue: false });
  probe.on("error", () => {});
  let silentMs = 0;
  let pinging = false;
  const watchdog = setInterval(async () => {
    if (pinging) return;
    pinging = true;
    try {
      await withTimeout(probe.ping(), WATCH_MS);
      silentMs = 0;
    } catch {
      silentMs += WATCH_MS;
      if (silentMs >= LOST_MS) {
        failed = true;
        reportLost(
          new AnnexmlError(
            "QUEUE_UNAVAILABLE",
            `lost the queue's Redis at ${url}: no answer for ${LOST_MS / 1000} s; the finished tasks stay in ${dir} (run the same command again to resume)`,
          ),
        );
      }
    } finally {
      pinging = false;
    }
  }, WATCH_MS);
  // Not unref'd: while Redis is away it may be the only thing keeping the process up.

  const base = (learner: number, part?: number): TaskJob => ({
    software,
    runKey,
    workDir,
    learner,
    ...(part === undefined ? {} : { part }),
  });
  const jobOptions = {
    attempts: 3,
    backoff: { type: "fixed", delay: 1000 },
    removeOnComplete: { age: 24 * 3600 },
    removeOnFail: { age: 7 * 24 * 3600 },
  };

  /** The job of a task, added unless it is there; a failed one is retried, a stale one replaced. */
  const ensure = async (name: "partition" | "part", id: string, file: string, job: TaskJob) => {
    const existing = await queue.getJob(id);
    if (existing) {
      const state = await existing.getState();
      if (state === "failed") {
        await existing.retry();
        return existing;
      }
      if (state !== "completed" || (await exists(file))) return existing;
      // Completed but its file is gone (work_dir cleaned): run it again.
      await existing.remove();
    }
    stats.queued++;
    return queue.add(name, job, { ...jobOptions, jobId: id });
  };

  const finished = async (job: Job<TaskJob>, file: string): Promise<void> => {
    try {
      await job.waitUntilFinished(events);
    } catch (error) {
      failed = true;
      const reason = (error as Error).message || String(error);
      throw new AnnexmlError("QUEUE_TASK_FAILED", `task ${job.id} failed on a worker: ${reason}`);
    }
    if (!(await exists(file))) {
      failed = true;
      throw new AnnexmlError(
        "QUEUE_TASK_FAILED",
        `task ${job.id} is done but its result ${file} is not there: is work_dir ${workDir} shared with the workers (the same path on every machine)?`,
      );
    }
  };

  /** The result of a task: its file when already there, else the job's. */
  const result = async <T>(
    name: "partition" | "part",
    learner: number,
    part: number | undefined,
    slot: number | undefined,
  ): Promise<T> => {
    const file = join(
      dir,
      part === undefined ? RUN_FILES.partition(learner) : RUN_FILES.part(learner, part),
    );
    const done = await readIfIntact<T>(file);
    if (done) {
      stats.reused++;
      return done;
    }
    const id = jobId(runKey, learner, part);
    if (slot !== undefined) slotOf.set(id, slot);
    const job = planned.get(id) ?? (await ensure(name, id, file, base(learner, part)));
    await finished(job, file);
    const out = await readObjectFile<T>(file);
    if (!out) throw new AnnexmlError("FILE_UNREADABLE", "the task result vanished", { file });
    return out;
  };
  const planned = new Map<string, Job<TaskJob>>();

  return {
    board,
    runKey,
    stats,
    partition: (learner, slot) =>
      Promise.race([result<PartitionResult>("partition", learner, undefined, slot), lost]),
    part: async () => {
      throw new Error("the queue runner trains embeddings and search graphs together (trainPart)");
    },
    index: async () => {
      throw new Error("the queue runner trains embeddings and search graphs together (trainPart)");
    },
    trainPart: (learner, part, _rows, slot) =>
      Promise.race([result<PartResult>("part", learner, part, slot), lost]),
    // Every (learner, partition) task goes into the queue at once, in the
    // trainer's order: the workers never wait for the coordinator to write.
    plan: async (tasks) => {
      const add = async () => {
        for (const { learner, part } of tasks) {
          const id = jobId(runKey, learner, part);
          const file = join(dir, RUN_FILES.part(learner, part));
          if (await exists(file)) continue;
          planned.set(id, await ensure("part", id, file, base(learner, part)));
        }
      };
      await Promise.race([add(), lost]);
    },
    close: async () => {
      clearInterval(watchdog);
      probe.disconnect();
      const cleanUp = async () => {
        if (failed) {
          // Stop the workers from running the rest of a run that has failed.
          await Promise.all(
            [...(await queue.getWaiting()), ...(await queue.getDelayed())]
              .filter((job) => job.data?.runKey === runKey)
              .map((job) => job.remove().catch(() => {})),
          );
        }
        await Promise.all([events.close(), queue.close()]);
      };
      // Without Redis, closing would wait for it: give up after a few seconds.
      // (Disconnecting is not awaited either: without Redis it may never settle.)
      await withTimeout(cleanUp(), 5000).catch(() => {
        void events.disconnect().catch(() => {});
        void queue.disconnect().catch(() => {});
      });
      options.reporter?.info(
        `Queue run ${runKey}: ${stats.reused} task results reused from work_dir, ${stats.queued} tasks queued`,
      );
    },
  };
}

/** How often the coordinator pings Redis, and after how long without an answer it stops. */
const WATCH_MS = 5000;
const LOST_MS = 30_000;

/** `promise`, or a rejection after `ms`. */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The worker's message about a software mismatch (shared by both sides). */
export function mismatchMessage(queued: string, worker: string): string {
  return `this task was queued by annexml ${cliVersionOf(queued)} (${queued}) but the worker runs annexml ${cliVersionOf(worker)} (${worker}): run workers of the coordinator's version`;
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** A result file's object, or null when it is missing or damaged (then the task runs again). */
async function readIfIntact<T>(path: string): Promise<T | null> {
  try {
    return await readObjectFile<T>(path);
  } catch (error) {
    if (error instanceof AnnexmlError && error.code === "BAD_FORMAT") {
      await rm(path, { force: true });
      return null;
    }
    throw error;
  }
}
