// What the coordinator (`annexml train ... queue=URL`) and the workers
// (`annexml worker --queue URL`) agree on: the queue's name, the jobs' data,
// where a run's files live in work_dir, and the version they must share.

import { join } from "node:path";
import { AnnexmlError } from "@annexml/sparse-io";
import type { ConnectionOptions } from "bullmq";
import { Redis } from "ioredis";
import { packageVersions, VERSION } from "../version.js";

/** The BullMQ queue every coordinator and worker uses. */
export const QUEUE_NAME = "annexml-train";

/** The data of one queued task (the job); its result in Redis is only a file name. */
export interface TaskJob {
  /** The software identity of the coordinator ({@link softwareIdentity}): workers must match. */
  software: string;
  runKey: string;
  workDir: string;
  learner: number;
  /** The partition (a `part` job: embedding + search graph); absent for a `partition` job. */
  part?: number;
}

/**
 * The software a task's bytes depend on: the CLI's version and every
 * AnnexML package's. `ANNEXML_TEST_VERSION` replaces the CLI's version (the
 * tests' way of starting "a worker of another version").
 */
export function softwareIdentity(): string {
  const versions = packageVersions();
  const test = process.env.ANNEXML_TEST_VERSION;
  if (test) versions["@annexml/cli"] = test;
  return Object.entries(versions)
    .map(([name, version]) => `${name}@${version}`)
    .join(" ");
}

/** The CLI version inside a {@link softwareIdentity} (for messages). */
export function cliVersionOf(identity: string): string {
  return /@annexml\/cli@(\S+)/.exec(identity)?.[1] ?? identity;
}

export { VERSION };

/** The directory of one run's files inside work_dir. */
export function runDir(workDir: string, runKey: string): string {
  return join(workDir, `annexml-run-${runKey}`);
}

/** The files of a run (relative to its {@link runDir}). */
export const RUN_FILES = {
  data: "data.bin",
  settings: "settings.json",
  partition: (learner: number) => `partition-${learner}.bin`,
  part: (learner: number, part: number) => `part-${learner}-${part}.bin`,
};

/** The deterministic job id of a task: enqueuing it twice adds it once. */
export function jobId(runKey: string, learner: number, part?: number): string {
  return part === undefined
    ? `${runKey}-partition-${learner}`
    : `${runKey}-part-${learner}-${part}`;
}

/** Checks a `redis://HOST:PORT[/DB]` URL; `BAD_OPTION` naming `what` otherwise. */
export function checkQueueUrl(url: string, what: string): string {
  let parsed: URL | null = null;
  try {
    parsed = new URL(url);
  } catch {
    parsed = null;
  }
  if (
    !parsed ||
    (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") ||
    !parsed.hostname
  ) {
    throw new AnnexmlError(
      "BAD_OPTION",
      `${what} must be a Redis URL like redis://HOST:PORT, but is ${JSON.stringify(url)}`,
    );
  }
  return url;
}

/** How long connecting to Redis may take before the command gives up. */
const CONNECT_TIMEOUT_MS = 3000;

/**
 * Connects to the Redis of `url` once, within a few seconds, and pings it:
 * an `AnnexmlError` `QUEUE_UNAVAILABLE` naming the URL when it cannot (no
 * retry loop, no hang). BullMQ's own connections are made only after this
 * succeeds.
 */
export async function checkRedis(url: string): Promise<void> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  // The socket's error (ECONNREFUSED, ENOTFOUND, ETIMEDOUT) says more than the rejection.
  let cause: Error | null = null;
  client.on("error", (error: Error) => {
    cause ??= error;
  });
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    const why = (cause as Error | null)?.message || (error as Error).message || String(error);
    throw new AnnexmlError(
      "QUEUE_UNAVAILABLE",
      `cannot reach the queue's Redis at ${url} (${why}): is redis-server running there?`,
    );
  } finally {
    client.disconnect();
  }
}

/**
 * BullMQ connection options for `url`. Workers and queue events need
 * `maxRetriesPerRequest: null` (their blocking commands must wait through
 * a reconnect instead of failing).
 */
export function connectionOptions(url: string): ConnectionOptions {
  const u = new URL(url);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : 6379,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(Number.isInteger(db) ? { db } : {}),
    ...(u.protocol === "rediss:" ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
  };
}
