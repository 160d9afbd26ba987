import type { CsrMatrix, KnnResult, LabelMatrix } from "@annexml/sparse-io";
import { type RerankTrainOptions, validateRerankTrainOptions } from "./options.js";
import type { RerankerArrays } from "./score.js";

/**
 * Each label's training examples, as a CSR over labels: `rows[indptr[l] ..
 * indptr[l + 1])` holds `row + 1` for a positive row (the row has the
 * label) and `-(row + 1)` for a hard negative (the label is in the row's
 * shortlist but not in its label set); positives first, each group in row
 * order.
 */
export interface RerankExamples {
  labels: number;
  indptr: Int32Array;
  rows: Int32Array;
}

/**
 * The examples of every label: its positives from `labels`, its hard
 * negatives from `shortlist` (per training row, its top labels by the
 * ensemble's vote, ids -1 padded; computed without the row itself).
 */
export function rerankExamples(labels: LabelMatrix, shortlist: KnnResult): RerankExamples {
  const L = labels.cols;
  const n = labels.rows;
  if (shortlist.rows !== n) throw new Error(`${shortlist.rows} shortlists for ${n} rows`);
  const { indptr, indices } = labels;
  const stamp = new Int32Array(L).fill(-1);
  const counts = new Int32Array(L + 1);
  const negCounts = new Int32Array(L);
  const k = shortlist.k;
  for (let r = 0; r < n; r++) {
    for (let p = indptr[r]; p < indptr[r + 1]; p++) {
      stamp[indices[p]] = r;
      counts[indices[p] + 1]++;
    }
    for (let j = r * k; j < (r + 1) * k; j++) {
      const l = shortlist.ids[j];
      if (l < 0) break;
      if (stamp[l] !== r) {
        stamp[l] = r;
        negCounts[l]++;
      }
    }
  }
  const start = new Int32Array(L + 1);
  for (let l = 0; l < L; l++) start[l + 1] = start[l] + counts[l + 1] + negCounts[l];
  const rows = new Int32Array(start[L]);
  const posFill = start.slice(0, L);
  const negFill = new Int32Array(L);
  for (let l = 0; l < L; l++) negFill[l] = start[l] + counts[l + 1];
  stamp.fill(-1);
  for (let r = 0; r < n; r++) {
    for (let p = indptr[r]; p < indptr[r + 1]; p++) {
      const l = indices[p];
      stamp[l] = r;
      rows[posFill[l]++] = r + 1;
    }
    for (let j = r * k; j < (r + 1) * k; j++) {
      const l = shortlist.ids[j];
      if (l < 0) break;
      if (stamp[l] !== r) {
        stamp[l] = r;
        rows[negFill[l]++] = -(r + 1);
      }
    }
  }
  return { labels: L, indptr: start, rows };
}

/** A 32-bit mix of the seed and a label id (splitmix32-like), never 0. */
function labelSeed(seed: number, label: number): number {
  let h = (seed ^ Math.imul(label + 1, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h = (h ^ (h >>> 16)) >>> 0;
  return h === 0 ? 1 : h;
}

/**
 * Trains the scorers of labels `from .. to - 1` on `examples` over the
 * (L2-normalised) `features`: per label, an L2-regularised squared-hinge
 * linear model with a bias (a constant feature 1) by dual coordinate
 * descent (Hsieh et al. 2008, liblinear's solver 1), the examples visited
 * in an order drawn from the label's own seed, so a label's scorer does not
 * depend on which labels are trained with it. Weights below `prune` are
 * dropped. A label with no positive gets no weights and bias -1.
 */
export function trainRerankerRange(
  features: CsrMatrix,
  examples: RerankExamples,
  from: number,
  to: number,
  options: Partial<RerankTrainOptions> = {},
): RerankerArrays {
  const o = validateRerankTrainOptions(options);
  const F = features.cols;
  const { indptr: fp, indices: fi, values: fv } = features;
  const w = new Float64Array(F);
  const touched = new Uint8Array(F);
  let touchedList = new Int32Array(64);
  let alpha = new Float64Array(64);
  let order = new Int32Array(64);
  const diag = 1 / (2 * o.cost);
  const outIndptr = new Int32Array(to - from + 1);
  let outIndices = new Int32Array(1024);
  let outWeights = new Float32Array(1024);
  const bias = new Float32Array(to - from).fill(-1);
  let nnz = 0;
  for (let l = from; l < to; l++) {
    const e0 = examples.indptr[l];
    const m = examples.indptr[l + 1] - e0;
    outIndptr[l - from] = nnz;
    if (m === 0 || examples.rows[e0] < 0) {
      outIndptr[l - from + 1] = nnz;
      continue;
    }
    if (alpha.length < m) {
      alpha = new Float64Array(2 * m);
      order = new Int32Array(2 * m);
    }
    alpha.fill(0, 0, m);
    for (let i = 0; i < m; i++) order[i] = i;
    let b = 0;
    let touchedCount = 0;
    let state = labelSeed(o.seed, l);
    for (let epoch = 0; epoch < o.epochs; epoch++) {
      for (let i = m - 1; i > 0; i--) {
        state ^= state << 13;
        state ^= state >>> 17;
        state ^= state << 5;
        state >>>= 0;
        const j = state % (i + 1);
        const t = order[i];
        order[i] = order[j];
        order[j] = t;
      }
      let maxPg = 0;
      for (let s = 0; s < m; s++) {
        const i = order[s];
        const coded = examples.rows[e0 + i];
        const y = coded > 0 ? 1 : -1;
        const r = coded > 0 ? coded - 1 : -coded - 1;
        const p0 = fp[r];
        const p1 = fp[r + 1];
        let dot = b;
        let norm = 1;
        for (let p = p0; p < p1; p++) {
          dot += w[fi[p]] * fv[p];
          norm += fv[p] * fv[p];
        }
        const a = alpha[i];
        const g = y * dot - 1 + diag * a;
        const pg = a === 0 ? Math.min(g, 0) : g;
        const apg = pg < 0 ? -pg : pg;
        if (apg > maxPg) maxPg = apg;
        if (apg < 1e-12) continue;
        const next = Math.max(a - g / (norm + diag), 0);
        const d = (next - a) * y;
        alpha[i] = next;
        if (d === 0) continue;
        b += d;
        for (let p = p0; p < p1; p++) {
          const f = fi[p];
          if (touched[f] === 0) {
            touched[f] = 1;
            if (touchedCount === touchedList.length) {
              const grown = new Int32Array(2 * touchedCount);
              grown.set(touchedList);
              touchedList = grown;
            }
            touchedList[touchedCount++] = f;
          }
          w[f] += d * fv[p];
        }
      }
      if (maxPg < o.tolerance) break;
    }
    const list = touchedList.subarray(0, touchedCount).sort();
    if (outIndices.length < nnz + touchedCount) {
      const size = Math.max(2 * outIndices.length, nnz + touchedCount);
      const gi = new Int32Array(size);
      gi.set(outIndices.subarray(0, nnz));
      outIndices = gi;
      const gw = new Float32Array(size);
      gw.set(outWeights.subarray(0, nnz));
      outWeights = gw;
    }
    for (let t = 0; t < touchedCount; t++) {
      const f = list[t];
      const v = w[f];
      if (Math.abs(v) >= o.prune && v !== 0) {
        outIndices[nnz] = f;
        outWeights[nnz++] = v;
      }
      w[f] = 0;
      touched[f] = 0;
    }
    bias[l - from] = b;
    outIndptr[l - from + 1] = nnz;
  }
  return {
    labels: to - from,
    features: F,
    indptr: outIndptr,
    indices: outIndices.slice(0, nnz),
    weights: outWeights.slice(0, nnz),
    bias,
  };
}

/** Concatenates the scorers of consecutive label ranges (in label order) into one. */
export function concatRerankers(parts: readonly RerankerArrays[]): RerankerArrays {
  let labels = 0;
  let nnz = 0;
  for (const p of parts) {
    labels += p.labels;
    nnz += p.indptr[p.labels];
  }
  const out: RerankerArrays = {
    labels,
    features: parts[0]?.features ?? 0,
    indptr: new Int32Array(labels + 1),
    indices: new Int32Array(nnz),
    weights: new Float32Array(nnz),
    bias: new Float32Array(labels),
  };
  let l0 = 0;
  let at = 0;
  for (const p of parts) {
    const count = p.indptr[p.labels];
    out.indices.set(p.indices.subarray(0, count), at);
    out.weights.set(p.weights.subarray(0, count), at);
    out.bias.set(p.bias, l0);
    for (let l = 0; l < p.labels; l++) out.indptr[l0 + l + 1] = at + p.indptr[l + 1];
    l0 += p.labels;
    at += count;
  }
  return out;
}

/**
 * The scorers of every label (see {@link trainRerankerRange}): trained on
 * each label's positives against its hard negatives from `shortlist`.
 */
export function trainReranker(
  features: CsrMatrix,
  labels: LabelMatrix,
  shortlist: KnnResult,
  options: Partial<RerankTrainOptions> = {},
): RerankerArrays {
  if (features.rows !== labels.rows)
    throw new Error(`${features.rows} feature rows for ${labels.rows} label rows`);
  const examples = rerankExamples(labels, shortlist);
  return trainRerankerRange(features, examples, 0, labels.cols, options);
}

/**
 * Checks stored scorers (a model file's): sizes, ascending in-range feature
 * ids, finite weights. Throws an `Error` naming the problem.
 */
export function checkRerankerArrays(a: RerankerArrays, labels: number): void {
  if (a.labels !== labels) throw new Error(`re-ranker of ${a.labels} labels for ${labels} labels`);
  if (a.indptr.length !== labels + 1 || a.bias.length !== labels)
    throw new Error("re-ranker arrays of the wrong length");
  const nnz = a.indptr[labels];
  if (a.indptr[0] !== 0 || a.indices.length !== nnz || a.weights.length !== nnz)
    throw new Error("re-ranker weights of the wrong length");
  for (let l = 0; l < labels; l++) {
    if (!Number.isFinite(a.bias[l])) throw new Error(`re-ranker bias of label ${l} is not finite`);
    const p0 = a.indptr[l];
    const p1 = a.indptr[l + 1];
    if (p1 < p0 || p1 > nnz) throw new Error(`re-ranker offsets are not ascending at label ${l}`);
    for (let p = p0; p < p1; p++) {
      const f = a.indices[p];
      if (!(f >= 0 && f < a.features) || (p > p0 && f <= a.indices[p - 1]))
        throw new Error(`re-ranker feature ids of label ${l} are not ascending in range`);
      if (!Number.isFinite(a.weights[p]))
        throw new Error(`re-ranker weight of label ${l} is not finite`);
    }
  }
}
