import type { KnnResult } from "@annexml/sparse-io";
import { badInput } from "@annexml/sparse-io";

/**
 * The fraction of graph pairs (i, j) — every `j = graph.ids[i * graph.k + q]
 * >= 0` — with `assignment[i] === assignment[j]`: how well a partitioning
 * keeps label neighbours together (1 = no positive pair is cut). Repeated
 * (amplified) neighbours count every time they appear. 0 when the graph has
 * no pairs.
 */
export function samePartitionFraction(assignment: Int32Array, graph: KnnResult): number {
  if (assignment.length !== graph.rows) {
    throw badInput(
      `assignment must have graph.rows = ${graph.rows} entries, but has ${assignment.length}`,
    );
  }
  let pairs = 0;
  let same = 0;
  const { ids, k } = graph;
  for (let i = 0; i < graph.rows; i++) {
    for (let q = i * k, end = q + k; q < end; q++) {
      const j = ids[q];
      if (j < 0) continue;
      pairs++;
      if (assignment[j] === assignment[i]) same++;
    }
  }
  return pairs > 0 ? same / pairs : 0;
}

/** Rows per partition: `Int32Array(k)` of counts of `assignment` (values must be in `[0, k)`). */
export function partitionSizes(assignment: Int32Array, k: number): Int32Array {
  const sizes = new Int32Array(k);
  for (let r = 0; r < assignment.length; r++) {
    const c = assignment[r];
    if (!(c >= 0 && c < k)) throw badInput(`assignment[${r}] must be in [0, ${k}), but is ${c}`);
    sizes[c]++;
  }
  return sizes;
}
