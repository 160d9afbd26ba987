import { kmeansPartitioner } from "./kmeans.js";
import { mincutPartitioner } from "./mincut.js";
import type { Partitioner } from "./types.js";

/** Built-in partitioner names by the original's `cls_type` (0 = kmeans, 1 = mincut). */
export const CLS_TYPE_NAMES: readonly string[] = Object.freeze(["kmeans", "mincut"]);

const registry = new Map<string, Partitioner>([
  [kmeansPartitioner.name, kmeansPartitioner],
  [mincutPartitioner.name, mincutPartitioner],
]);

/**
 * The partitioner registered under `name`: "kmeans" (spherical k-means,
 * cls_type 0), "mincut" (min-cut of the label kNN graph, cls_type 1) or one
 * added with {@link registerPartitioner}. Throws a `RangeError` listing the
 * known names otherwise.
 */
export function createPartitioner(name: string): Partitioner {
  const p = registry.get(name);
  if (p === undefined) {
    throw new RangeError(
      `unknown partitioner ${JSON.stringify(name)}; known partitioners: ${partitionerNames().join(", ")}`,
    );
  }
  return p;
}

/**
 * Makes `p` available to {@link createPartitioner} under `p.name`. Names are
 * unique: registering a name twice (including "kmeans" / "mincut") throws a
 * `RangeError`, so a built-in is never silently replaced.
 */
export function registerPartitioner(p: Partitioner): void {
  if (typeof p !== "object" || p === null || typeof p.fit !== "function") {
    throw new TypeError("a partitioner must be an object with a name and a fit function");
  }
  if (typeof p.name !== "string" || p.name.length === 0) {
    throw new TypeError(
      `partitioner name must be a non-empty string, but is ${JSON.stringify(p.name)}`,
    );
  }
  if (registry.has(p.name)) {
    throw new RangeError(`a partitioner named ${JSON.stringify(p.name)} is already registered`);
  }
  registry.set(p.name, p);
}

/** The registered partitioner names, in registration order (built-ins first). */
export function partitionerNames(): string[] {
  return [...registry.keys()];
}
