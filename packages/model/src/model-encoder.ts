import type { PartitionArrays } from "@annexml/partition";
import type { RerankerArrays } from "@annexml/rerank";
import { AnnexmlError, type LabelMatrix } from "@annexml/sparse-io";
import { COMPACT_VALUES, type Compact, fitsU16 } from "./compact.js";
import type { SectionArray, SectionSpec } from "./format.js";
import type { LabelNames } from "./label-names.js";
import { type Packable, pack } from "./pack.js";
import type { PartArrays } from "./predictor.js";

/** The original ids of a model trained on sparse ids (see `ModelIds` in model.ts). */
interface Ids {
  features?: Int32Array;
  labels?: Int32Array;
}

/**
 * The order in which a model's partitions are trained and stored: largest
 * first (so threads finish together), then by learner and partition. The
 * same for any thread count, and computable from the partition sizes
 * alone, so a model written part by part as training finishes them and the
 * same model written from memory are the same bytes.
 */
export function partOrder(partitionSizes: readonly (readonly number[])[]): [number, number][] {
  const order: [number, number, number][] = [];
  partitionSizes.forEach((sizes, l) => {
    sizes.forEach((size, k) => {
      order.push([l, k, size]);
    });
  });
  order.sort((a, b) => b[2] - a[2] || a[0] - b[0] || a[1] - b[1]);
  return order.map(([l, k]) => [l, k]);
}

/**
 * The sections of a model, piece by piece as training produces them, for a
 * writer that streams them (the CLI's trainer) or one that has the whole
 * model ({@link AnnexmlModel.encode}): {@link head} first, then every
 * learner's {@link partition}, then the {@link part}s (in {@link partOrder}
 * for byte-identical files), then the optional {@link reranker}, then
 * {@link meta} for the index. Nothing is
 * kept but the JSON skeleton. `compact`: see {@link Compact}.
 */
export class ModelEncoder {
  private readonly skeleton: Record<string, unknown> = {};
  private readonly learners: Record<
    string,
    { partition: unknown; parts: Record<string, unknown> }
  > = {};
  private headDone = false;

  constructor(readonly compact: Compact = "none") {
    if (!COMPACT_VALUES.includes(compact)) {
      throw new AnnexmlError(
        "BAD_OPTION",
        `option 'compact' must be ${COMPACT_VALUES.map((v) => `"${v}"`).join(" or ")}, but is ${JSON.stringify(compact)}`,
      );
    }
  }

  /** The training label sets, the original ids and the label names. */
  head(trainLabels: LabelMatrix, ids: Ids, labelNames: LabelNames | null): SectionSpec[] {
    if (this.headDone) throw new Error("the model head is written once");
    this.headDone = true;
    const sections: [string, SectionArray][] = [];
    const { rows, cols, indptr, indices } = trainLabels;
    this.skeleton.trainLabels = pack("m.trainLabels", { rows, cols, indptr, indices }, sections);
    this.skeleton.ids = pack("m.ids", { features: ids.features, labels: ids.labels }, sections);
    if (labelNames)
      this.skeleton.labelNames = pack("m.labelNames", labelNames.toArrays(), sections);
    this.skeleton.learners = this.learners;
    return this.compactInts(sections);
  }

  /** Learner `l`'s partitioner (after the head, before its parts). */
  partition(l: number, arrays: PartitionArrays): SectionSpec[] {
    if (!this.headDone) throw new Error("the model head comes first");
    if (this.learners[l]) throw new Error(`learner ${l}'s partitioner is written once`);
    const sections: [string, SectionArray][] = [];
    const skeleton = pack(`m.learners.${l}.partition`, arrays as unknown as Packable, sections);
    this.learners[l] = { partition: skeleton, parts: {} };
    return this.compactInts(sections);
  }

  /** Partition `k` of learner `l`: its rows, embedding and search index. */
  part(l: number, k: number, part: PartArrays): SectionSpec[] {
    const learner = this.learners[l];
    if (!learner) throw new Error(`learner ${l}'s partitioner comes before its parts`);
    if (learner.parts[k]) throw new Error(`part ${k} of learner ${l} is written once`);
    const sections: [string, SectionArray][] = [];
    const prefix = `m.learners.${l}.parts.${k}`;
    learner.parts[k] = pack(prefix, part as unknown as Packable, sections);
    if (this.compact === "none") return sections;
    const encoding = this.compact === "f16" ? "f16" : "i8";
    return sections.map(([name, array]): SectionSpec => {
      if (array instanceof Int32Array) return fitsU16(array) ? [name, array, "u16"] : [name, array];
      const key = name.slice(prefix.length);
      // Weights and embeddings: rows of `stride`, of which `embSize` are stored.
      if (key === ".embedding.weights" || key === ".embedding.embeddings")
        return [name, array, encoding, part.embedding.stride, part.embedding.embSize];
      if (key === ".index.splitNormals") return [name, array, encoding, part.index.dim];
      return [name, array];
    });
  }

  /**
   * The optional label re-ranker (after every part): its per-label sparse
   * scorers as the sections `m.reranker.*`. A reader that does not know
   * them predicts as without them.
   */
  reranker(arrays: RerankerArrays): SectionSpec[] {
    if (!this.headDone) throw new Error("the model head comes first");
    if (this.skeleton.reranker) throw new Error("the re-ranker is written once");
    const sections: [string, SectionArray][] = [];
    this.skeleton.reranker = pack("m.reranker", arrays as unknown as Packable, sections);
    if (this.compact === "none") return sections;
    return sections.map(([name, array]): SectionSpec => {
      if (array instanceof Int32Array && fitsU16(array)) return [name, array, "u16"];
      if (name === "m.reranker.weights") return [name, array, "f16"];
      return [name, array];
    });
  }

  /** The index's meta data: `info` and the skeleton of every section written. */
  meta<I extends object>(info: I): I & { arrays: unknown } {
    return { ...info, arrays: this.skeleton };
  }

  /** Compact storage keeps Int32 sections whose values fit [-1, 65534] as u16. */
  private compactInts(sections: [string, SectionArray][]): SectionSpec[] {
    if (this.compact === "none") return sections;
    return sections.map(
      ([name, array]): SectionSpec =>
        array instanceof Int32Array && fitsU16(array) ? [name, array, "u16"] : [name, array],
    );
  }
}
