import { badOption } from "@annexml/sparse-io";
import type { PropensityScoredMetrics, RankingMetrics } from "./metrics.js";

/**
 * Formats `x` with `digits` decimals exactly as Python's `"%.{digits}f" % x`
 * and C's `printf("%.*f")` do: the exact binary value rounded to the nearest
 * decimal, an exact tie to the even last digit. `Number#toFixed` rounds ties
 * up instead (`(0.0078125).toFixed(6)` is `"0.007813"`, Python prints
 * `0.007812`). Also like Python: `-0` and negatives that round to zero keep
 * their sign (`-0.000000`), non-finite values print `nan`, `inf`, `-inf`,
 * and large values print all their digits, never an exponent.
 *
 * Throws an `AnnexmlError` `BAD_OPTION` unless `digits` is an integer in 0..100.
 */
export function formatFixed(x: number, digits = 6): string {
  if (!Number.isInteger(digits) || digits < 0 || digits > 100) {
    throw badOption(`digits must be an integer in 0..100, but is ${digits}`);
  }
  if (Number.isNaN(x)) return "nan";
  if (x === Number.POSITIVE_INFINITY) return "inf";
  if (x === Number.NEGATIVE_INFINITY) return "-inf";
  const sign = x < 0 || Object.is(x, -0) ? "-" : "";
  const magnitude = Math.abs(x);
  // toFixed switches to exponent notation from 1e21 on; such doubles are integers.
  if (magnitude >= 1e21) {
    return `${sign}${BigInt(magnitude)}${digits > 0 ? `.${"0".repeat(digits)}` : ""}`;
  }
  let text = magnitude.toFixed(digits);
  // x * 10^d lies exactly halfway between two integers if and only if
  // x * 2^(d+1) is an odd integer (a double is a dyadic rational, so the
  // 5^d of the denominator must cancel). Scaling by 2^(d+1) is exact.
  // toFixed took the upper neighbour; half-to-even wants the lower one when
  // the upper ends in an odd digit, which is then >= 1, so no borrow.
  if ((magnitude * 2 ** (digits + 1)) % 2 === 1) {
    const last = text.charCodeAt(text.length - 1) - 48;
    if (last % 2 === 1) text = `${text.slice(0, -1)}${last - 1}`;
  }
  return sign + text;
}

function isRanking(metrics: RankingMetrics | PropensityScoredMetrics): metrics is RankingMetrics {
  return "precision" in metrics;
}

/**
 * Prints metrics exactly as the reference evaluation scripts do, one
 * `name=value` per line, each ending with `\n`:
 * `#samples=N`, then `P@1=…` … `P@k=…` and `nDCG@1=…` … `nDCG@k=…` for
 * {@link RankingMetrics}, or `PSP@1=…` … and `PSnDCG@1=…` … for
 * {@link PropensityScoredMetrics}; values with six decimals as Python's
 * `%f` (see {@link formatFixed}). An undefined ratio prints `nan`.
 */
export function formatMetrics(metrics: RankingMetrics | PropensityScoredMetrics): string {
  let text = `#samples=${metrics.samples}\n`;
  const [first, second, a, b] = isRanking(metrics)
    ? (["P", "nDCG", metrics.precision, metrics.ndcg] as const)
    : (["PSP", "PSnDCG", metrics.psp, metrics.psndcg] as const);
  for (let i = 0; i < metrics.k; i++) text += `${first}@${i + 1}=${formatFixed(a[i])}\n`;
  for (let i = 0; i < metrics.k; i++) text += `${second}@${i + 1}=${formatFixed(b[i])}\n`;
  return text;
}

/**
 * The metrics as a flat JSON-ready record with the same names as
 * {@link formatMetrics} (`samples`, `P@1`, …, `nDCG@1`, … or `PSP@1`, …,
 * `PSnDCG@1`, …), in that order, at full double precision. An undefined
 * ratio is `null` (JSON has no NaN).
 */
export function metricsToJSON(
  metrics: RankingMetrics | PropensityScoredMetrics,
): Record<string, number | null> {
  const record: Record<string, number | null> = { samples: metrics.samples };
  const [first, second, a, b] = isRanking(metrics)
    ? (["P", "nDCG", metrics.precision, metrics.ndcg] as const)
    : (["PSP", "PSnDCG", metrics.psp, metrics.psndcg] as const);
  for (let i = 0; i < metrics.k; i++) record[`${first}@${i + 1}`] = finiteOrNull(a[i]);
  for (let i = 0; i < metrics.k; i++) record[`${second}@${i + 1}`] = finiteOrNull(b[i]);
  return record;
}

function finiteOrNull(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}
