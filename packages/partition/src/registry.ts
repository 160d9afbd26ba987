import { badOption } from "@annexml/sparse-io";
import { kmeansPartitioner } from "./kmeans.js";
import { mincutPartitioner } from "./mincut.js";
import { treePartitioner } from "./tree.js";
import type { Partitioner } from "./types.js";

/**
 * Built-in partitioner names by `cls_type`: 0 = kmeans and 1 = mincut (the
 * original's), 2 = tree (hierarchical min-cut, not in the original).
 */
export const CLS_TYPE_NAMES: readonly string[] = Object.freeze(["kmeans", "mincut", "tree"]);

const registry = new Map<string, Partitioner>([
  [kmeansPartitioner.name, kmeansPartitioner],
  [mincutPartitioner.name, mincutPartitioner],
  [treePartitioner.name, treePartitioner],
]);

/**
 * The partitioner registered under `name`: "kmeans" (spherical k-means,
 * cls_type 0), "mincut" (min-cut of the label kNN graph, cls_type 1) or one
 * added with {@link registerPartitioner}. Throws an `AnnexmlError` `BAD_OPTION` listing the
 * known names otherwise.
 */
export function createPartitioner(name: string): Partitioner {
  const p = registry.get(name);
  if (p === undefined) {
    throw badOption(
      `unknown partitioner ${JSON.stringify(name)}; known partitioners: ${partitionerNames().join(", ")}`,
    );
  }
  return p;
}

/**
 * Makes `p` available to {@link createPartitioner} under `p.name`. Names are
 * unique: registering a name twice (including "kmeans" / "mincut") throws a
 * `AnnexmlError` `BAD_OPTION`, so a built-in is never silently replaced.
 */
export function registerPartitioner(p: Partitioner): void {
  if (typeof p !== "object" || p === null || typeof p.fit !== "function") {
    throw badOption("a partitioner must be an object with a name and a fit function");
  }
  if (typeof p.name !== "string" || p.name.length === 0) {
    throw badOption(
      `partitioner name must be a non-empty string, but is ${JSON.stringify(p.name)}`,
    );
  }
  if (registry.has(p.name)) {
    throw badOption(`a partitioner named ${JSON.stringify(p.name)} is already registered`);
  }
  registry.set(p.name, p);
}

/** The registered partitioner names, in registration order (built-ins first). */
export function partitionerNames(): string[] {
  return [...registry.keys()];
}
