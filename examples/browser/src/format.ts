/**
 * A score as the page shows it: integer votes (the default voting) as
 * integers, fractional ones (weighted or normalised votes) with 3 decimals.
 */
export function formatScore(score: number): string {
  return Number.isInteger(score) ? String(score) : score.toFixed(3);
}
