// Test helper: writes small models in the original C++ AnnexML's binary
// format (CPP_MODEL_FORMAT.md), so tests can build exact cases (feature-0
// rows, unsorted partitioner entries, corrupt fields) without the original.

/** One learner of a synthetic original model. */
export interface CppLearnerSpec {
  k: number;
  /** Per feature f, its (partition, weight) entries in file order. */
  partitioner: [number, number][][];
  /** Per partition, its projection rows (feature id, d floats) in file order. */
  projections: [number, number[]][][];
  /** Every training row's embedding (d floats). */
  embeddings: number[][];
  /** Per partition, its member rows. */
  members: number[][];
  /** Override the embedding section's emb_size (default: the model's). */
  embSize?: number;
}

/** A synthetic original model. */
export interface CppModelSpec {
  embSize: number;
  numNn?: number;
  numEdge?: number;
  seed?: number;
  trainFile?: string;
  labels: number[][];
  learners: CppLearnerSpec[];
}

/** Little-endian byte builder. */
export class Bytes {
  private readonly parts: number[] = [];
  u64(v: number | bigint): this {
    const big = BigInt(v);
    for (let i = 0n; i < 8n; i++) this.parts.push(Number((big >> (8n * i)) & 0xffn));
    return this;
  }
  i32(v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, v, true);
    this.parts.push(...b);
    return this;
  }
  f32(v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.parts.push(...b);
    return this;
  }
  str(s: string): this {
    const b = new TextEncoder().encode(s);
    this.i32(b.length);
    this.parts.push(...b);
    return this;
  }
  get length(): number {
    return this.parts.length;
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** The bytes of `spec` in the original's format; `offsets` records where named fields start. */
export function writeCppModel(
  spec: CppModelSpec,
  offsets: Record<string, number> = {},
): Uint8Array {
  const b = new Bytes();
  const ints = (v: number) => b.i32(v);
  ints(spec.embSize);
  ints(spec.learners.length);
  ints(spec.numNn ?? 10);
  ints(1); // cls_type
  ints(10); // cls_iter
  ints(10); // emb_iter
  ints(1); // label_normalize
  b.f32(0.1).f32(4).f32(10);
  ints(1); // pred_type
  ints(spec.numEdge ?? 50);
  b.f32(0);
  ints(1); // num_thread
  ints(spec.seed ?? 0);
  ints(1); // verbose
  b.str(spec.trainFile ?? "train.txt")
    .str("test.txt")
    .str("model.bin")
    .str("result.txt");
  offsets.labels = b.length;
  b.u64(spec.labels.length);
  for (const row of spec.labels) {
    b.u64(row.length);
    for (const l of row) b.i32(l);
  }
  offsets.learners = b.length;
  b.u64(spec.learners.length);
  spec.learners.forEach((learner, l) => {
    offsets[`learner${l}`] = b.length;
    b.u64(learner.k).u64(learner.partitioner.length);
    for (const entries of learner.partitioner) {
      b.u64(entries.length);
      for (const [p, w] of entries) b.i32(p).f32(w);
    }
    offsets[`embedding${l}`] = b.length;
    b.u64(learner.embSize ?? spec.embSize)
      .i32(0)
      .i32(0)
      .u64(learner.projections.length);
    learner.projections.forEach((rows, c) => {
      offsets[`projections${l}.${c}`] = b.length;
      b.u64(rows.length);
      for (const [id, w] of rows) {
        b.i32(id).u64(w.length);
        for (const x of w) b.f32(x);
      }
    });
    offsets[`embeddings${l}`] = b.length;
    b.u64(learner.embeddings.length);
    for (const e of learner.embeddings) {
      b.u64(e.length);
      for (const x of e) b.f32(x);
    }
    offsets[`members${l}`] = b.length;
    b.u64(learner.members.length);
    for (const rows of learner.members) {
      b.u64(rows.length);
      for (const r of rows) b.u64(r);
    }
  });
  offsets.end = b.length;
  return b.bytes();
}

/** A unit vector of `d` dimensions along axis `axis` (times `sign`). */
export function axis(d: number, a: number, sign = 1): number[] {
  return Array.from({ length: d }, (_, i) => (i === a ? sign : 0));
}
