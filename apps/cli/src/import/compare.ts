import type { KnnResult } from "@annexml/sparse-io";

/**
 * Comparisons of our predictions with the original's result files (the
 * import's parity tests and benchmark). Rows are compared after sorting
 * each by score descending, then label id ascending.
 */

/** Row `r`'s (label, score) pairs, score descending then label ascending (ids -1 skipped). */
export function sortedRow(result: KnnResult, r: number): [number, number][] {
  const pairs: [number, number][] = [];
  for (let j = r * result.k; j < (r + 1) * result.k; j++) {
    if (result.ids[j] >= 0) pairs.push([result.ids[j], result.scores[j]]);
  }
  return pairs.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
}

/**
 * Fraction of rows whose first `n` labels (after sorting both rows by score
 * descending, then label id) are the same sequence in `ours` and `ref`.
 */
export function topAgreement(ours: KnnResult, ref: KnnResult, n = 5): number {
  if (ours.rows !== ref.rows) throw new RangeError(`rows differ: ${ours.rows} and ${ref.rows}`);
  let same = 0;
  for (let r = 0; r < ref.rows; r++) {
    const a = sortedRow(ours, r).slice(0, n);
    const b = sortedRow(ref, r).slice(0, n);
    if (a.length === b.length && a.every((p, i) => p[0] === b[i][0])) same++;
  }
  return ref.rows === 0 ? 1 : same / ref.rows;
}

/**
 * As {@link topAgreement}, but equal scores at the reference's cut are
 * broken as the reference broke them: the original keeps its top 10 and
 * cuts a run of equal scores in an arbitrary order (an unordered_map's,
 * sorted unstably), which no sort by label id can recover. So among our
 * labels of equal score, those the reference row lists come first (then by
 * label id). `full` must hold all our scored labels of each row (predict
 * with `k` = the number of labels).
 */
export function tieAwareTopAgreement(full: KnnResult, ref: KnnResult, n = 5): number {
  if (full.rows !== ref.rows) throw new RangeError(`rows differ: ${full.rows} and ${ref.rows}`);
  let same = 0;
  const listed = new Set<number>();
  for (let r = 0; r < ref.rows; r++) {
    const theirs = sortedRow(ref, r).slice(0, n);
    listed.clear();
    for (let j = r * ref.k; j < (r + 1) * ref.k; j++) if (ref.ids[j] >= 0) listed.add(ref.ids[j]);
    const rank = (label: number) => (listed.has(label) ? 0 : 1);
    const ours = sortedRow(full, r)
      .sort((a, b) => b[1] - a[1] || rank(a[0]) - rank(b[0]) || a[0] - b[0])
      .slice(0, n);
    if (ours.length === theirs.length && ours.every((p, i) => p[0] === theirs[i][0])) same++;
  }
  return ref.rows === 0 ? 1 : same / ref.rows;
}

/** P@k and nDCG@k of a metrics file of the original's evaluation script (`P@1=0.588867` lines). */
export function parseMetricsFile(text: string): { precision: number[]; ndcg: number[] } {
  const precision: number[] = [];
  const ndcg: number[] = [];
  for (const line of text.split("\n")) {
    const m = /^(P|nDCG)@(\d+)=([0-9.eE+-]+)\s*$/.exec(line.trim());
    if (!m) continue;
    (m[1] === "P" ? precision : ndcg)[Number(m[2]) - 1] = Number(m[3]);
  }
  return { precision, ndcg };
}
