// Where the benchmarks find the built CLI, the example config and the data.
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

/** Runs a command, resolving with its stdout and stderr. */
export const run = promisify(execFile);
/** The repository root. */
export const ROOT = new URL("../../../", import.meta.url).pathname;
/** The built `annexml` binary. */
export const BIN = join(ROOT, "apps/cli/dist/bin.js");
/** The example config (its paths are relative to the root). */
export const CONFIG = join(ROOT, "annexml-example.json");
/** The larger shared datasets, when this checkout has them beside it. */
export const SHARED = join(ROOT, "../shared/data");
/** Where the datasets are read from: `../shared/data` when present, else the bundled `data/`. */
export const DATA = existsSync(SHARED) ? SHARED : join(ROOT, "data");

/**
 * Figures kept in `dir/figures.json` (the directory made if missing), so a
 * benchmark stopped half-way resumes where it was: the figures by key, and
 * `save` to write them after each new one.
 */
export function figureCache(dir: string): { cache: Record<string, number[]>; save: () => void } {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "figures.json");
  const cache: Record<string, number[]> = existsSync(file)
    ? JSON.parse(readFileSync(file, "utf8"))
    : {};
  return { cache, save: () => writeFileSync(file, JSON.stringify(cache, null, 1)) };
}
