/**
 * A deliberately plain evaluation, written line by line after the reference
 * scripts with a `Set`, a `Map` and `Array#sort` per row. It is the baseline
 * of the benchmark and the oracle of the property tests (same log/pow as the
 * package, so results must agree to the bit).
 */
import type { KnnResult, LabelMatrix } from "@annexml/sparse-io";
import { log, pow } from "../src/libm.js";

/** Metrics by the names of `metricsToJSON` (P@k, nDCG@k and, with train labels, PSP@k, PSnDCG@k). */
export function naiveEvaluate(
  truth: LabelMatrix,
  predictions: KnnResult,
  trainLabels: LabelMatrix | null,
  { k = 5, A = 0.55, B = 1.5 } = {},
): Record<string, number> {
  const pw = new Map<number, number>();
  let defaultPw = 0;
  if (trainLabels) {
    const freqs = new Map<number, number>();
    for (let p = 0; p < trainLabels.indptr[trainLabels.rows]; p++) {
      const l = trainLabels.indices[p];
      freqs.set(l, (freqs.get(l) ?? 0) + 1);
    }
    const C = (log(trainLabels.rows) - 1) * pow(B + 1, A);
    for (const [l, n] of freqs) pw.set(l, 1 + C * pow(n + B, -A));
    defaultPw = 1 + C * pow(B, -A);
  }
  const dcgList = [1];
  const idcgList = [1];
  for (let i = 1; i < k; i++) {
    dcgList.push(1 / (log(i + 2) / log(2)));
    idcgList.push(idcgList[i - 1] + dcgList[i]);
  }
  const zeros = () => new Array<number>(k).fill(0);
  const accs = zeros();
  const ndcgs = zeros();
  const nAccs = zeros();
  const dAccs = zeros();
  const nNdcgs = zeros();
  const dNdcgs = zeros();
  for (let r = 0; r < truth.rows; r++) {
    const lSet = new Set(truth.indices.subarray(truth.indptr[r], truth.indptr[r + 1]));
    const predDict = new Map<number, number>();
    for (let j = 0; j < predictions.k; j++) {
      const id = predictions.ids[r * predictions.k + j];
      if (id >= 0) predDict.set(id, predictions.scores[r * predictions.k + j]);
    }
    if (lSet.size === 0 || predDict.size === 0) continue;
    const kList = [...predDict.keys()]
      .sort((a, b) => predDict.get(b)! - predDict.get(a)! || a - b)
      .slice(0, k);
    const dcgs = zeros();
    const nDcgs = zeros();
    kList.forEach((p, i) => {
      if (lSet.has(p)) {
        const w = pw.get(p) ?? defaultPw;
        accs[i] += 1;
        dcgs[i] = dcgList[i];
        nAccs[i] += w;
        nDcgs[i] = w * dcgList[i];
      }
    });
    const idealAt = (i: number) => idcgList[Math.min(i, lSet.size - 1)];
    let sum = 0;
    let nSum = 0;
    for (let i = 0; i < k; i++) {
      sum += dcgs[i];
      ndcgs[i] += sum / idealAt(i);
      nSum += nDcgs[i];
      nNdcgs[i] += nSum / idealAt(i);
    }
    const lPw = [...lSet]
      .map((l) => pw.get(l) ?? defaultPw)
      .sort((a, b) => b - a)
      .slice(0, k);
    const dDcgs = zeros();
    lPw.forEach((w, i) => {
      dAccs[i] += w;
      dDcgs[i] = w * dcgList[i];
    });
    let dSum = 0;
    for (let i = 0; i < k; i++) {
      dSum += dDcgs[i];
      dNdcgs[i] += dSum / idealAt(i);
    }
  }
  const out: Record<string, number> = { samples: truth.rows };
  let a = 0;
  for (let i = 0; i < k; i++) {
    a += accs[i];
    out[`P@${i + 1}`] = a / truth.rows / (i + 1);
  }
  for (let i = 0; i < k; i++) out[`nDCG@${i + 1}`] = ndcgs[i] / truth.rows;
  if (trainLabels) {
    let n = 0;
    let d = 0;
    for (let i = 0; i < k; i++) {
      n += nAccs[i];
      d += dAccs[i];
      out[`PSP@${i + 1}`] = n / d;
    }
    for (let i = 0; i < k; i++) out[`PSnDCG@${i + 1}`] = nNdcgs[i] / dNdcgs[i];
  }
  return out;
}
