import { type EmbeddingArrays, paddedStride } from "@annexml/embed";
import { MODEL_MAGIC } from "@annexml/model";
import type { PartitionArrays } from "@annexml/partition";
import { compactColumns, type LabelMatrix } from "@annexml/sparse-io";
import type { AnnexmlParams } from "../config.js";
import { BinaryReader } from "./reader.js";
import type { ByteSource } from "./source.js";

/**
 * How the imported model looks up feature 0.
 *
 * The original gives every partition an untrained (random) projection row
 * labelled feature 0, stored first; when feature 0 really occurs in the
 * partition its trained row follows with the same id, and the original's
 * lookup (a binary search for the first row with id >= f) always lands on
 * the untrained one.
 *
 * - `original` (default): feature 0 uses the untrained row, as the original
 *   does, so predictions match it; the unreachable trained row is dropped.
 * - `trained`: the untrained row is dropped; feature 0 uses its trained row
 *   where the partition has one and is ignored elsewhere (like any feature
 *   without a row). The stored training-row embeddings stay as the original
 *   computed them (with the untrained row).
 */
export type Feature0Mode = "original" | "trained";

/**
 * The parameter block of an original model (`docs/CPP_MODEL_FORMAT.md` section 1),
 * as stored: our parameters minus the three the original does not have.
 */
export type CppParams = Omit<AnnexmlParams, "cluster_size" | "anchor_step" | "adagrad_rsqrt">;

/** One partition read from an original model, in our layout (no search graph yet). */
export interface CppPart {
  /** Global training-row ids of the partition, ascending. */
  rows: Int32Array;
  /** Projection rows (compact, stride-padded) and the members' stored embeddings, in `rows` order. */
  embedding: EmbeddingArrays;
}

/** One learner read from an original model. */
export interface CppLearner {
  partition: PartitionArrays;
  parts: CppPart[];
}

/** What the conversion changed or met on the way (reported in the model's notes). */
export interface CppReadStats {
  /** Repeated labels removed from training label sets (they are kept in input order by the original). */
  duplicateLabels: number;
  /** Partitioner entries of the same (feature, partition) merged into one (the original sums them). */
  mergedPartitionEntries: number;
  /** Partitioner entries of weight 0 dropped (they never change an assignment). */
  zeroPartitionWeights: number;
  /** Partitions (over all learners) in the file. */
  partitions: number;
  /** Partitions whose first projection row is the untrained feature-0 row. */
  untrainedFeature0Rows: number;
  /** Partitions that also hold a trained projection row of feature 0. */
  trainedFeature0Rows: number;
  /** Projection rows dropped by the {@link Feature0Mode}. */
  droppedProjectionRows: number;
  /** Training rows whose stored embedding was NaN/infinite (a zero projection); stored as zero. */
  nonFiniteEmbeddings: number;
}

/** An original AnnexML model, read and converted to our arrays (everything but the search graphs). */
export interface CppModel {
  params: CppParams;
  /**
   * Training label sets, each row sorted ascending without repeats, in dense
   * label ids when {@link labelIds} is set (so memory follows the labels in
   * use, not the largest id).
   */
  trainLabels: LabelMatrix;
  /** `labelIds[dense]` = the file's label id, when the file's ids have gaps; else null. */
  labelIds: Int32Array | null;
  /** 1 + the largest label id of the file. */
  labelCols: number;
  learners: CppLearner[];
  /** 1 + the largest feature id any partitioner or projection row mentions. */
  numFeatures: number;
  fileBytes: number;
  feature0: Feature0Mode;
  stats: CppReadStats;
}

/** Options of {@link readCppModel}. */
export interface ReadCppModelOptions {
  /** Feature-0 semantics (default `original`). */
  feature0?: Feature0Mode;
  /** Put the training-row embeddings on `SharedArrayBuffer`s (for worker threads). */
  shared?: boolean;
}

const MAX_INT32 = 0x7fffffff;
/** Smallest learner: partitioner K and F, embedding emb_size, seed, verbose, three partition counts. */
const MIN_LEARNER_BYTES = 8 + 8 + 8 + 4 + 4 + 8 + 8 + 8;
/** Longest path string we accept in the parameter block (paths, not data). */
const MAX_PATH_BYTES = 1 << 16;
/**
 * Tolerance on the squared norm of the stored embeddings (float32 unit
 * vectors are far closer): the search graph's cosine metric refuses rows
 * beyond this (ann-search's `validateVectors`), so the reader must too.
 */
const UNIT_NORM_TOLERANCE = 1e-4;

type IntRule = readonly [name: keyof CppParams, min: number, max: number];

/** Plausible values of the integer parameters: anything else means the file is not such a model. */
const INT_RULES: readonly IntRule[] = [
  ["emb_size", 1, 4096],
  ["num_learner", 1, 1000],
  ["num_nn", 1, 1000],
  ["cls_type", 0, 1],
  ["cls_iter", 0, 100_000_000],
  ["emb_iter", 0, 100_000_000],
  ["label_normalize", 0, 1],
  ["pred_type", 0, 1],
  ["num_edge", 1, 10_000],
  ["num_thread", 0, 1_000_000],
];
/** Byte offsets and kinds of the 16 parameters. */
const PARAM_LAYOUT: readonly (readonly [keyof CppParams, "i" | "f"])[] = [
  ["emb_size", "i"],
  ["num_learner", "i"],
  ["num_nn", "i"],
  ["cls_type", "i"],
  ["cls_iter", "i"],
  ["emb_iter", "i"],
  ["label_normalize", "i"],
  ["eta0", "f"],
  ["lambda", "f"],
  ["gamma", "f"],
  ["pred_type", "i"],
  ["num_edge", "i"],
  ["search_eps", "f"],
  ["num_thread", "i"],
  ["seed", "i"],
  ["verbose", "i"],
];
const PARAMS_BYTES = PARAM_LAYOUT.length * 4;
const PATH_NAMES = ["train_file", "predict_file", "model_file", "result_file"] as const;

/**
 * Reads a model written by the original C++ AnnexML (`docs/CPP_MODEL_FORMAT.md`)
 * from `source`, streaming it, and converts it to our arrays: partitioners
 * (entries sorted by partition, zero weights dropped), projection rows
 * (compact feature ids, stride-padded, feature 0 per `feature0`), the
 * training-row embeddings of each partition in the order of its ascending
 * members, and the training label sets (sorted, without repeats; in dense
 * ids with the file's ids in `labelIds` when those have gaps).
 *
 * Refuses with an `AnnexmlError` naming the file, byte offset and field: a
 * truncated file, a file that is not such a model, and inconsistent sizes
 * (partition counts, row counts, vector lengths, feature ids out of order,
 * members out of range or repeated). Every declared length is checked
 * against the bytes left in the file before anything is allocated.
 */
export async function readCppModel(
  source: ByteSource,
  options: ReadCppModelOptions = {},
): Promise<CppModel> {
  const feature0 = options.feature0 ?? "original";
  if (feature0 !== "original" && feature0 !== "trained") {
    throw new RangeError(
      `feature0 must be "original" or "trained", but is ${JSON.stringify(feature0)}`,
    );
  }
  const r = new BinaryReader(source);
  const params = await readParams(r);
  const stats: CppReadStats = {
    duplicateLabels: 0,
    mergedPartitionEntries: 0,
    zeroPartitionWeights: 0,
    partitions: 0,
    untrainedFeature0Rows: 0,
    trainedFeature0Rows: 0,
    droppedProjectionRows: 0,
    nonFiniteEmbeddings: 0,
  };
  const fileLabels = await readLabels(r, stats);
  // Predictors size their vote tables by the label count: renumber the ids densely.
  const { matrix: trainLabels, ids: labelIds } = compactColumns(fileLabels, { inPlace: true });
  const n = trainLabels.rows;

  const countAt = r.position;
  const numLearners = await r.readU64("learner count");
  if (numLearners < 1 || numLearners > 1000) {
    throw r.error("learner count", `is ${numLearners}, expected 1..1000`, countAt);
  }
  r.requireRecords(numLearners, MIN_LEARNER_BYTES, "learner count", countAt);
  const ctx: LearnerContext = {
    r,
    n,
    embSize: params.emb_size,
    stride: paddedStride(params.emb_size),
    feature0,
    shared: options.shared === true,
    stats,
    stamp: new Int32Array(n),
    numFeatures: 0,
  };
  const learners: CppLearner[] = [];
  for (let l = 0; l < numLearners; l++) learners.push(await readLearner(ctx, l));
  if (r.remaining > 0) {
    throw r.error(
      "end of the model",
      `${r.remaining} unexpected bytes after the last learner (not a model of the original AnnexML, or a corrupt one)`,
    );
  }
  return {
    params,
    trainLabels,
    labelIds,
    labelCols: fileLabels.cols,
    learners,
    numFeatures: ctx.numFeatures,
    fileBytes: source.size,
    feature0,
    stats,
  };
}

async function readParams(r: BinaryReader): Promise<CppParams> {
  const size = r.source.size;
  if (size >= 8) {
    await r.fill(8, "start");
    const head = r.peek(8);
    if (MODEL_MAGIC.every((b, i) => head[i] === b)) {
      throw r.error(
        "start",
        "this is a model of annexml (TypeScript), not of the original C++ AnnexML: it needs no import",
        0,
      );
    }
    if (head[0] === 0x1f && head[1] === 0x8b) {
      throw r.error("start", "the file is gzip-compressed: decompress it first", 0);
    }
  }
  if (size < PARAMS_BYTES) {
    throw r.error(
      "parameter block",
      `the file has ${size} bytes, but a model of the original AnnexML starts with ${PARAMS_BYTES} bytes of parameters (truncated, or not such a model)`,
      0,
    );
  }
  await r.fill(PARAMS_BYTES, "parameter block");
  const values: Record<string, number> = {};
  for (const [name, kind] of PARAM_LAYOUT) values[name] = kind === "i" ? r.i32() : r.f32();
  for (const [name, min, max] of INT_RULES) {
    const v = values[name];
    if (!(v >= min && v <= max)) {
      throw r.error(
        `parameter ${name}`,
        `is ${v}, expected ${min}..${max}: not a model of the original AnnexML`,
        PARAM_LAYOUT.findIndex(([n]) => n === name) * 4,
      );
    }
  }
  for (const name of ["eta0", "lambda", "gamma", "search_eps"] as const) {
    if (!Number.isFinite(values[name])) {
      throw r.error(
        `parameter ${name}`,
        `is ${values[name]}: not a model of the original AnnexML`,
        PARAM_LAYOUT.findIndex(([n]) => n === name) * 4,
      );
    }
  }
  const paths: Record<string, string> = {};
  const decoder = new TextDecoder();
  for (const name of PATH_NAMES) {
    const at = r.position;
    const length = await r.readI32(`parameter ${name}: byte length`);
    if (length < 0 || length > MAX_PATH_BYTES || length > r.remaining) {
      throw r.error(
        `parameter ${name}: byte length`,
        `is ${length}, but a path of 0..${Math.min(MAX_PATH_BYTES, r.remaining)} bytes is expected here (truncated, or not a model of the original AnnexML)`,
        at,
      );
    }
    paths[name] = decoder.decode(await r.readBytes(length, `parameter ${name}`));
  }
  return { ...values, ...paths } as unknown as CppParams;
}

async function readLabels(r: BinaryReader, stats: CppReadStats): Promise<LabelMatrix> {
  const field = "training label sets: row count N";
  const countAt = r.position;
  const n = await r.readU64(field);
  if (n < 1) throw r.error(field, "is 0: the model has no training rows", countAt);
  if (n >= MAX_INT32)
    throw r.error(field, `is ${n}, above the 2^31 - 2 rows a model can hold`, countAt);
  r.requireRecords(n, 8, field, countAt);
  const indptr = new Int32Array(n + 1);
  // A first guess (grown by doubling): never more than the file could hold.
  let indices = new Int32Array(
    Math.max(1024, Math.min(4 * n, Math.floor(r.remaining / 4), 1 << 24)),
  );
  let nnz = 0;
  let maxLabel = -1;
  const maxPiece = r.window >>> 2;
  for (let i = 0; i < n; i++) {
    if (r.available() < 8) await r.fill(8, `training label set of row ${i}: label count`);
    const at = r.position;
    const m = r.u64Raw();
    if (m < 0) throw r.error(`training label set of row ${i}: label count`, r.u64TooBig(), at);
    if (m * 4 > r.remaining)
      r.requireRecords(m, 4, `training label set of row ${i}: label count`, at);
    if (nnz + m > MAX_INT32) {
      throw r.error(
        `training label set of row ${i}`,
        "more than 2^31 - 1 labels in all: too large",
        at,
      );
    }
    if (nnz + m > indices.length) indices = grow(indices, nnz + m);
    for (let done = 0; done < m; ) {
      const piece = Math.min(m - done, maxPiece);
      if (r.available() < piece * 4)
        await r.fill(piece * 4, `training label set of row ${i}: labels`);
      r.i32Into(indices, nnz + done, piece);
      done += piece;
    }
    const row = indices.subarray(nnz, nnz + m);
    for (let j = 0; j < m; j++) {
      if (row[j] < 0) {
        throw r.error(
          `training label set of row ${i}: label ${j}`,
          `is ${row[j]}, labels must be non-negative`,
          at + 8 + 4 * j,
        );
      }
    }
    row.sort();
    let kept = 0;
    for (let j = 0; j < m; j++) if (j === 0 || row[j] !== row[j - 1]) row[kept++] = row[j];
    stats.duplicateLabels += m - kept;
    if (kept > 0 && row[kept - 1] > maxLabel) maxLabel = row[kept - 1];
    nnz += kept;
    indptr[i + 1] = nnz;
  }
  return { rows: n, cols: maxLabel + 1, indptr, indices: indices.slice(0, nnz) };
}

interface LearnerContext {
  r: BinaryReader;
  /** Training rows N. */
  n: number;
  embSize: number;
  stride: number;
  feature0: Feature0Mode;
  shared: boolean;
  stats: CppReadStats;
  /** Partition + 1 of every training row in the current learner (0 = none yet). */
  stamp: Int32Array;
  numFeatures: number;
}

async function readLearner(ctx: LearnerContext, l: number): Promise<CppLearner> {
  const partition = await readPartitioner(ctx, l);
  const k = partition.k;
  const projections = await readProjections(ctx, l, k);
  const embeddings = await readEmbeddings(ctx, l);
  const members = await readMembers(ctx, l, k);
  const { n, stride, embSize } = ctx;
  const parts: CppPart[] = members.map((rows, c) => {
    let data: Float32Array;
    if (rows.length === n) {
      // Members are strictly ascending and < N: this partition is every row, in order.
      data = embeddings;
    } else {
      data = allocF32(rows.length * stride, ctx.shared);
      for (let i = 0; i < rows.length; i++) {
        data.set(embeddings.subarray(rows[i] * stride, (rows[i] + 1) * stride), i * stride);
      }
    }
    return {
      rows,
      embedding: {
        embSize,
        stride,
        rows: rows.length,
        featureIds: projections[c].featureIds,
        weights: projections[c].weights,
        embeddings: data,
      },
    };
  });
  ctx.stats.partitions += k;
  return { partition, parts };
}

async function readPartitioner(ctx: LearnerContext, l: number): Promise<PartitionArrays> {
  const { r, n, stats } = ctx;
  const where = `learner ${l}, partitioner`;
  let at = r.position;
  const k = await r.readU64(`${where}: partition count K`);
  if (k < 1 || k > n) {
    throw r.error(
      `${where}: partition count K`,
      `is ${k}, expected 1..${n} (the training rows)`,
      at,
    );
  }
  // Every partition has at least its two counts (projection rows, members) later on.
  r.requireRecords(k, 16, `${where}: partition count K`, at);
  at = r.position;
  const f = await r.readU64(`${where}: feature count F`);
  if (f >= MAX_INT32) throw r.error(`${where}: feature count F`, `is ${f}, above 2^31 - 2`, at);
  r.requireRecords(f, 8, `${where}: feature count F`, at);
  const featurePtr = new Int32Array(f + 1);
  let partitions = new Int32Array(1024);
  let weights = new Float32Array(1024);
  let e = 0;
  const maxPiece = r.window >>> 3;
  for (let feature = 0; feature < f; feature++) {
    if (r.available() < 8) await r.fill(8, `${where}: entry count of feature ${feature}`);
    at = r.position;
    const m = r.u64Raw();
    if (m < 0) throw r.error(`${where}: entry count of feature ${feature}`, r.u64TooBig(), at);
    if (m * 8 > r.remaining)
      r.requireRecords(m, 8, `${where}: entry count of feature ${feature}`, at);
    if (e + m > partitions.length) {
      partitions = grow(partitions, e + m);
      weights = grow(weights, e + m);
    }
    const from = e;
    for (let done = 0; done < m; ) {
      const piece = Math.min(m - done, maxPiece);
      if (r.available() < piece * 8)
        await r.fill(piece * 8, `${where}: entries of feature ${feature}`);
      for (let j = 0; j < piece; j++) {
        const p = r.i32();
        const w = r.f32();
        if (!(p >= 0 && p < k) || !Number.isFinite(w)) {
          const entry = done + j;
          throw r.error(
            `${where}: entry ${entry} of feature ${feature}`,
            p >= 0 && p < k ? `weight is ${w}` : `partition ${p} is out of range [0, ${k})`,
            at + 8 + 8 * entry + (p >= 0 && p < k ? 4 : 0),
          );
        }
        partitions[e] = p;
        weights[e++] = w;
      }
      done += piece;
    }
    e = compactEntries(partitions, weights, from, e, stats);
    featurePtr[feature + 1] = e;
  }
  if (f > ctx.numFeatures) ctx.numFeatures = f;
  return {
    k,
    numFeatures: f,
    featurePtr,
    partitions: partitions.slice(0, e),
    weights: weights.slice(0, e),
  };
}

/**
 * Sorts one feature's entries `[from, to)` by partition (insertion sort: the
 * original writes them sorted already), sums repeated partitions (the
 * original adds each entry to the score) and drops zero weights; returns the
 * new end.
 */
function compactEntries(
  partitions: Int32Array,
  weights: Float32Array,
  from: number,
  to: number,
  stats: CppReadStats,
): number {
  for (let i = from + 1; i < to; i++) {
    const p = partitions[i];
    const w = weights[i];
    let j = i - 1;
    while (j >= from && partitions[j] > p) {
      partitions[j + 1] = partitions[j];
      weights[j + 1] = weights[j];
      j--;
    }
    partitions[j + 1] = p;
    weights[j + 1] = w;
  }
  let out = from;
  for (let i = from; i < to; i++) {
    if (out > from && partitions[out - 1] === partitions[i]) {
      weights[out - 1] = Math.fround(weights[out - 1] + weights[i]);
      stats.mergedPartitionEntries++;
      continue;
    }
    partitions[out] = partitions[i];
    weights[out++] = weights[i];
  }
  let kept = from;
  for (let i = from; i < out; i++) {
    if (weights[i] === 0) {
      stats.zeroPartitionWeights++;
      continue;
    }
    partitions[kept] = partitions[i];
    weights[kept++] = weights[i];
  }
  return kept;
}

interface Projection {
  featureIds: Int32Array;
  weights: Float32Array;
}

async function readProjections(ctx: LearnerContext, l: number, k: number): Promise<Projection[]> {
  const { r, embSize, stride, stats } = ctx;
  const where = `learner ${l}, embedding`;
  let at = r.position;
  const size = await r.readU64(`${where}: emb_size`);
  if (size !== embSize) {
    throw r.error(
      `${where}: emb_size`,
      `is ${size}, but the parameters' emb_size is ${embSize}`,
      at,
    );
  }
  await r.fill(8, `${where}: seed and verbose`);
  r.i32();
  r.i32();
  at = r.position;
  const k2 = await r.readU64(`${where}: partition count`);
  if (k2 !== k) {
    throw r.error(
      `${where}: partition count`,
      `is ${k2}, but the learner's partitioner has K = ${k}`,
      at,
    );
  }
  const rowBytes = 4 + 8 + 4 * embSize;
  const rowsPerFill = Math.max(1, Math.floor(r.window / rowBytes));
  const out: Projection[] = [];
  for (let c = 0; c < k; c++) {
    const part = `${where}, partition ${c}`;
    at = r.position;
    const count = await r.readU64(`${part}: projection row count`);
    r.requireRecords(count, rowBytes, `${part}: projection row count`, at);
    if (count * stride > MAX_INT32) {
      throw r.error(
        `${part}: projection row count`,
        `${count} rows of ${stride} floats are too many`,
        at,
      );
    }
    const base = r.position;
    const ids = new Int32Array(count);
    const weights = new Float32Array(count * stride);
    for (let j = 0; j < count; j++) {
      if (r.available() < rowBytes) {
        await r.fill(Math.min(count - j, rowsPerFill) * rowBytes, `${part}: projection row ${j}`);
      }
      ids[j] = r.i32();
      const d = r.u64Raw();
      if (d !== embSize) {
        throw r.error(
          `${part}: projection row ${j}: length d`,
          d < 0 ? r.u64TooBig() : `is ${d}, but emb_size is ${embSize}`,
          base + j * rowBytes + 4,
        );
      }
      r.f32Into(weights, j * stride, embSize);
    }
    for (let j = 0; j < count; j++) {
      const id = ids[j];
      const ordered = j === 0 || id > ids[j - 1] || (j === 1 && id === 0 && ids[0] === 0);
      if (id < 0 || !ordered) {
        throw r.error(
          `${part}: projection row ${j}: feature id`,
          id < 0
            ? `is ${id}, feature ids must be non-negative`
            : `feature ids out of order: ${id} after ${ids[j - 1]} (they must ascend; only the untrained feature-0 row may repeat id 0)`,
          base + j * rowBytes,
        );
      }
      for (let d = 0; d < embSize; d++) {
        if (!Number.isFinite(weights[j * stride + d])) {
          throw r.error(
            `${part}: projection row ${j} (feature ${id})`,
            `holds ${weights[j * stride + d]} at dimension ${d}`,
            base + j * rowBytes + 12 + 4 * d,
          );
        }
      }
    }
    if (count > 0 && ids[count - 1] + 1 > ctx.numFeatures) ctx.numFeatures = ids[count - 1] + 1;
    const untrained = count > 0 && ids[0] === 0;
    const trainedZero = count > 1 && ids[1] === 0;
    if (untrained) stats.untrainedFeature0Rows++;
    if (trainedZero) stats.trainedFeature0Rows++;
    // original: the untrained row (first) answers feature 0, the trained one is unreachable.
    // trained: the untrained row goes; a trained feature-0 row, if any, answers.
    const drop = ctx.feature0 === "original" ? (trainedZero ? 1 : -1) : untrained ? 0 : -1;
    if (drop < 0) {
      out.push({ featureIds: ids, weights });
      continue;
    }
    stats.droppedProjectionRows++;
    ids.copyWithin(drop, drop + 1);
    weights.copyWithin(drop * stride, (drop + 1) * stride);
    out.push({
      featureIds: ids.slice(0, count - 1),
      weights: weights.slice(0, (count - 1) * stride),
    });
  }
  return out;
}

async function readEmbeddings(ctx: LearnerContext, l: number): Promise<Float32Array> {
  const { r, n, embSize, stride, stats } = ctx;
  const where = `learner ${l}, embedding`;
  const at = r.position;
  const count = await r.readU64(`${where}: training row count`);
  if (count !== n) {
    throw r.error(
      `${where}: training row count`,
      `is ${count}, but there are ${n} training label sets`,
      at,
    );
  }
  const rowBytes = 8 + 4 * embSize;
  r.requireRecords(n, rowBytes, `${where}: training row count`, at);
  if (n * stride > MAX_INT32) {
    throw r.error(
      `${where}: training row count`,
      `${n} embeddings of ${stride} floats are too many`,
      at,
    );
  }
  const base = r.position;
  const rowsPerFill = Math.max(1, Math.floor(r.window / rowBytes));
  const data = allocF32(n * stride, ctx.shared);
  for (let i = 0; i < n; i++) {
    if (r.available() < rowBytes) {
      await r.fill(
        Math.min(n - i, rowsPerFill) * rowBytes,
        `${where}: embedding of training row ${i}`,
      );
    }
    const d = r.u64Raw();
    if (d !== embSize) {
      throw r.error(
        `${where}: embedding of training row ${i}: length d`,
        d < 0 ? r.u64TooBig() : `is ${d}, but emb_size is ${embSize}`,
        base + i * rowBytes,
      );
    }
    r.f32Into(data, i * stride, embSize);
    let sum = 0;
    for (let j = i * stride, end = j + embSize; j < end; j++) sum += data[j] * data[j];
    if (!Number.isFinite(sum)) {
      // The original divides a zero projection by its zero norm: NaN. A zero row is its meaning.
      data.fill(0, i * stride, (i + 1) * stride);
      stats.nonFiniteEmbeddings++;
    } else if (sum !== 0 && Math.abs(sum - 1) > UNIT_NORM_TOLERANCE) {
      throw r.error(
        `${where}: embedding of training row ${i}`,
        `has norm ${Math.sqrt(sum)}, but the original stores unit vectors`,
        base + i * rowBytes + 8,
      );
    }
  }
  return data;
}

async function readMembers(ctx: LearnerContext, l: number, k: number): Promise<Int32Array[]> {
  const { r, n, stamp } = ctx;
  const where = `learner ${l}, partition members`;
  let at = r.position;
  const k3 = await r.readU64(`${where}: partition count`);
  if (k3 !== k) {
    throw r.error(
      `${where}: partition count`,
      `is ${k3}, but the learner's partitioner has K = ${k}`,
      at,
    );
  }
  stamp.fill(0);
  const maxPiece = r.window >>> 3;
  const out: Int32Array[] = [];
  for (let c = 0; c < k; c++) {
    const part = `learner ${l}, partition ${c}`;
    at = r.position;
    const count = await r.readU64(`${part}: member count`);
    if (count > n)
      throw r.error(`${part}: member count`, `is ${count}, more than the ${n} training rows`, at);
    r.requireRecords(count, 8, `${part}: member count`, at);
    const base = r.position;
    const rows = new Int32Array(count);
    let previous = -1;
    for (let done = 0; done < count; ) {
      const piece = Math.min(count - done, maxPiece);
      if (r.available() < piece * 8) await r.fill(piece * 8, `${part}: members`);
      for (let j = done; j < done + piece; j++) {
        const row = r.u64Raw();
        if (!(row >= 0 && row < n) || row <= previous || stamp[row] !== 0) {
          throw r.error(
            `${part}: member ${j}`,
            !(row >= 0 && row < n)
              ? row < 0
                ? r.u64TooBig()
                : `training row ${row} is out of range [0, ${n})`
              : row <= previous
                ? `training row ${row} after ${previous}: members must ascend`
                : `training row ${row} is already in partition ${stamp[row] - 1}`,
            base + 8 * j,
          );
        }
        stamp[row] = c + 1;
        rows[j] = row;
        previous = row;
      }
      done += piece;
    }
    out.push(rows);
  }
  return out;
}

function allocF32(length: number, shared: boolean): Float32Array {
  return shared ? new Float32Array(new SharedArrayBuffer(length * 4)) : new Float32Array(length);
}

/** A copy of `array` with room for at least `needed` elements (doubling). */
function grow<T extends Int32Array | Float32Array>(array: T, needed: number): T {
  let size = Math.max(array.length, 1);
  while (size < needed) size = Math.min(size * 2, MAX_INT32);
  const out = new (array.constructor as new (n: number) => T)(size);
  out.set(array);
  return out;
}
