import {
  type ModelInfo,
  mergeShards,
  parseStoredContainer,
  type StoredModel,
} from "@annexml/model";
import { AnnexmlError } from "@annexml/sparse-io";
import { ContainerWriter, nativeCrc, readModelBytes } from "../model/container.js";

/**
 * `annexml merge SHARD... -o OUT`: joins learner shards of one training run
 * (`learners=...`) into one model, byte-identical to the model of a run
 * training all of them (see `mergeShards`). Every shard is read and
 * checked whole (memory: the sum of the shards); the output is written
 * section by section through a temporary file. Returns the line to print.
 */
export async function runMerge(inputs: readonly string[], output: string): Promise<string> {
  if (inputs.length === 0) throw new AnnexmlError("BAD_OPTION", "merge needs at least one model");
  const shards: StoredModel[] = [];
  for (const source of inputs) {
    const bytes = await readModelBytes(source);
    const { meta, pieces } = parseStoredContainer<StoredModel["meta"]>(bytes, source, nativeCrc);
    const info = meta as Partial<StoredModel["meta"]> | null;
    if (info?.arrays?.learners === undefined || info.params === undefined || !info.stats)
      throw new AnnexmlError("BAD_FORMAT", "not an annexml model (no model meta data)", {
        file: source,
      });
    shards.push({ source, meta, pieces });
  }
  const { meta, pieces } = mergeShards(shards);
  const writer = await ContainerWriter.open(output);
  let bytes: number;
  try {
    await writer.stored(pieces);
    bytes = await writer.finish(meta);
  } catch (error) {
    await writer.abort();
    throw error;
  }
  return `${output}: ${(bytes / 1e6).toFixed(2)} MB, ${describe(meta)} from ${inputs.length} file${inputs.length > 1 ? "s" : ""}`;
}

function describe(info: ModelInfo): string {
  const n = info.params.num_learner;
  const held = info.shard?.learners;
  return held
    ? `a shard of learners ${held.join(",")} of ${n} (learners ${missing(held, n)} missing)`
    : `all ${n} learners`;
}

function missing(held: readonly number[], n: number): string {
  const have = new Set(held);
  return Array.from({ length: n }, (_, l) => l)
    .filter((l) => !have.has(l))
    .join(",");
}
