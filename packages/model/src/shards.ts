import { AnnexmlError } from "@annexml/sparse-io";
import type { StoredSection } from "./format.js";
import type { ModelInfo } from "./model.js";
import { partOrder } from "./model-encoder.js";

/**
 * Learner shards: `learners=0-4` trains only those learners of a run (with
 * the seeds they have in the full run), and {@link mergeShards} joins shards
 * into the model the full run writes, byte for byte. A shard is a model of
 * its own (it predicts with its learners); its info names them in `shard`.
 */

/** The most learner ids a spec may name (the `num_learner` parameter's bound). */
const MAX_LEARNERS = 1000;

/**
 * The learner ids of a `learners` spec (`"0-4"`, `"0,3,5-7"`; `""` = all of
 * `numLearners`), ascending; an id outside `[0, numLearners)`, a repeated
 * id or bad syntax is `BAD_OPTION` naming the spec.
 */
export function parseLearners(spec: string, numLearners: number): number[] {
  if (spec.trim() === "") return Array.from({ length: numLearners }, (_, l) => l);
  const bad = (why: string) =>
    new AnnexmlError(
      "BAD_OPTION",
      `parameter 'learners' must list learner ids in [0, ${numLearners - 1}] (num_learner=${numLearners}) like 0-4 or 0,3,5-7: '${spec}' ${why}`,
    );
  const ids = new Set<number>();
  for (const item of spec.split(",")) {
    const match = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(item);
    if (!match) throw bad(`has '${item}', which is not a number or a range A-B`);
    const from = Number(match[1]);
    const to = match[2] === undefined ? from : Number(match[2]);
    if (to < from) throw bad(`has the empty range ${item.trim()}`);
    if (to >= numLearners) throw bad(`names learner ${to}`);
    for (let l = from; l <= to && l < MAX_LEARNERS; l++) {
      if (ids.has(l)) throw bad(`names learner ${l} twice`);
      ids.add(l);
    }
  }
  return [...ids].sort((a, b) => a - b);
}

/** The ids in the run of a model's `count` learners: its shard's, or 0 .. count - 1. */
export function learnerIdsOf(info: Pick<ModelInfo, "shard">, count: number): number[] {
  return info.shard?.learners ?? Array.from({ length: count }, (_, l) => l);
}

/** One shard as stored: its meta data (info + skeleton) and its sections in file order. */
export interface StoredModel {
  /** Names the shard in error messages (its file). */
  source: string;
  meta: ModelInfo & { arrays: ModelSkeleton };
  pieces: readonly StoredSection[];
}

interface ModelSkeleton {
  learners: Record<string, unknown>;
  [key: string]: unknown;
}

const HEAD_PREFIXES = ["m.trainLabels.", "m.ids.", "m.labelNames."];

/**
 * Joins learner shards of one training run into one model: the learners of
 * all shards, its sections in the order a run training them all writes
 * (the head, every partitioner by learner, the parts in {@link partOrder}),
 * each section's stored bytes unchanged, so the merged file of a complete
 * set of shards equals the full run's file. The shards must come from the
 * same data, parameters, storage and package versions, and must not share
 * a learner: else `BAD_OPTION` naming the two shards and what differs.
 * Shards that do not cover every learner give a larger shard.
 */
export function mergeShards(shards: readonly StoredModel[]): {
  meta: ModelInfo & { arrays: ModelSkeleton };
  pieces: StoredSection[];
} {
  if (shards.length === 0) throw new AnnexmlError("BAD_OPTION", "merge needs at least one model");
  const first = shards[0];
  const bad = (shard: StoredModel, why: string) =>
    new AnnexmlError(
      "BAD_OPTION",
      `${shard.source} cannot be merged with ${first.source}: ${why}`,
      { file: shard.source },
    );
  const head = (s: StoredModel) =>
    s.pieces.filter((p) => HEAD_PREFIXES.some((h) => p.name.startsWith(h)));
  const firstHead = head(first);
  const owner = new Map<number, { shard: StoredModel; local: number }>();
  for (const shard of shards) {
    const info = shard.meta;
    if (info.origin !== "annexml-ts")
      throw bad(shard, `it is an imported model (${info.origin}), not a learner shard`);
    checkSame(shard, first, bad);
    const shardHead = head(shard);
    if (
      shardHead.length !== firstHead.length ||
      shardHead.some((p, i) => !samePiece(p, firstHead[i]))
    ) {
      throw bad(shard, "their training label sets, original ids or label names differ");
    }
    learnerIdsOf(info, info.stats.partitionSizes.length).forEach((l, local) => {
      const other = owner.get(l);
      if (other) throw bad(shard, `both hold learner ${l} (${other.shard.source} too)`);
      owner.set(l, { shard, local });
    });
  }
  const learners = [...owner.keys()].sort((a, b) => a - b);
  const numLearners = first.meta.params.num_learner;
  const complete = learners.length === numLearners;

  const stats = (key: "partitions" | "partitionSizes" | "partitionObjectives" | "trainPrecision") =>
    learners.map((l) => {
      const { shard, local } = owner.get(l) as { shard: StoredModel; local: number };
      return (shard.meta.stats[key] as unknown[] | undefined)?.[local];
    });
  const sizes = stats("partitionSizes") as number[][];
  const withPrecision = shards.every((s) => s.meta.stats.trainPrecision !== undefined);
  const { shard: _shard, arrays: _arrays, ...info } = first.meta;
  const merged: ModelInfo = {
    ...info,
    stats: {
      partitions: stats("partitions") as number[],
      partitionSizes: sizes,
      ...(first.meta.stats.partitionObjectives
        ? { partitionObjectives: stats("partitionObjectives") as number[][] }
        : {}),
      ...(withPrecision ? { trainPrecision: stats("trainPrecision") as number[][] } : {}),
    },
    ...(complete ? {} : { shard: { learners } }),
  };
  const skeletonLearners: Record<string, unknown> = {};
  for (const l of learners) {
    const { shard } = owner.get(l) as { shard: StoredModel };
    skeletonLearners[l] = shard.meta.arrays.learners[l];
  }
  const arrays: ModelSkeleton = { ...first.meta.arrays, learners: skeletonLearners };

  const byPrefix = (shard: StoredModel, prefix: string) =>
    shard.pieces.filter((p) => p.name.startsWith(prefix));
  const pieces: StoredSection[] = [...firstHead];
  for (const l of learners) {
    const { shard } = owner.get(l) as { shard: StoredModel };
    pieces.push(...byPrefix(shard, `m.learners.${l}.partition.`));
  }
  for (const [i, k] of partOrder(sizes)) {
    const l = learners[i];
    const { shard } = owner.get(l) as { shard: StoredModel };
    pieces.push(...byPrefix(shard, `m.learners.${l}.parts.${k}.`));
  }
  const total =
    shards.reduce((n, s) => n + s.pieces.length, 0) - (shards.length - 1) * firstHead.length;
  if (pieces.length !== total)
    throw bad(first, `${total - pieces.length} of the shards' sections belong to no learner part`);
  return { meta: { ...merged, arrays }, pieces };
}

/** Parameters, data and versions must agree (the merged file's info is the first shard's). */
function checkSame(
  shard: StoredModel,
  first: StoredModel,
  bad: (shard: StoredModel, why: string) => AnnexmlError,
): void {
  const a = shard.meta;
  const b = first.meta;
  for (const key of Object.keys({ ...a.params, ...b.params }) as (keyof ModelInfo["params"])[]) {
    if (a.params[key] !== b.params[key])
      throw bad(
        shard,
        `trained with ${key}=${a.params[key]}, the other with ${key}=${b.params[key]}`,
      );
  }
  for (const key of Object.keys({ ...a.data, ...b.data }) as (keyof ModelInfo["data"])[]) {
    // The file's name may differ between machines; its content may not.
    if (key === "file") continue;
    if (a.data[key] !== b.data[key])
      throw bad(shard, `trained on other data (${key} ${a.data[key]}, the other ${b.data[key]})`);
  }
  for (const name of Object.keys({ ...a.versions, ...b.versions })) {
    if (a.versions[name] !== b.versions[name]) {
      throw bad(
        shard,
        `written by ${name} ${a.versions[name] ?? "(none)"}, the other by ${b.versions[name] ?? "(none)"}: train every shard with the same version`,
      );
    }
  }
  // The projection weights are stored as `compact` says (f32, f16 or i8).
  const storage = (s: StoredModel) =>
    [...new Set(s.pieces.filter((p) => p.name.endsWith(".embedding.weights")).map((p) => p.type))]
      .sort()
      .join(",");
  if (storage(shard) !== storage(first)) {
    throw bad(
      shard,
      `stored as ${storage(shard)}, the other as ${storage(first)} (train every shard with the same compact)`,
    );
  }
}

function samePiece(a: StoredSection, b: StoredSection): boolean {
  if (a.name !== b.name || a.type !== b.type || a.length !== b.length) return false;
  if (a.bytes.length !== b.bytes.length) return false;
  for (let i = 0; i < a.bytes.length; i++) if (a.bytes[i] !== b.bytes[i]) return false;
  return true;
}
