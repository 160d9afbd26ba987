// Where the benchmarks find the built CLI, the example config and the data.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
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
