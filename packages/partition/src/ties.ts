import type { Rng } from "@annexml/sparse-io";

/**
 * The index of the largest of `scores[0 .. k - 1]`; when several are exactly
 * equal to the maximum, one of them uniformly at random (the training-time
 * tie rule of both partitioners, so that e.g. rows with no overlap with any
 * centre spread over the partitions instead of piling into partition 0).
 * Draws from `rng` only when there is a tie. `ties` is scratch of length >= k.
 */
export function argmaxRandomTies(
  scores: Float64Array,
  k: number,
  ties: Int32Array,
  rng: Rng,
): number {
  let best = scores[0];
  let count = 1;
  ties[0] = 0;
  for (let c = 1; c < k; c++) {
    const s = scores[c];
    if (s > best) {
      best = s;
      ties[0] = c;
      count = 1;
    } else if (s === best) {
      ties[count++] = c;
    }
  }
  return count === 1 ? ties[0] : ties[rng.nextInt(count)];
}
