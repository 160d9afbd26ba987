import { resolve } from "node:path";
import { AnnexmlError } from "@annexml/sparse-io";
import { importCppModel } from "../import/convert.js";
import type { Feature0Mode } from "../import/cpp-model.js";
import { saveModel } from "../model/files.js";
import { Reporter } from "../progress.js";

/** The `key=value` options of `annexml import`. */
export interface ImportCommandOptions {
  num_thread: number;
  verbose: number;
  feature0: Feature0Mode;
}

/** Defaults of {@link ImportCommandOptions}. */
export const DEFAULT_IMPORT_COMMAND_OPTIONS: Readonly<ImportCommandOptions> = Object.freeze({
  num_thread: 1,
  verbose: 1,
  feature0: "original",
});

/** Help of the `key=value` options. */
export const IMPORT_OPTIONS_HELP = [
  "  num_thread=N        threads building the search graphs (default 1)",
  "  verbose=0|1         0 = quiet, 1 = summary on stderr (default 1)",
  "  feature0=original   feature 0 uses the original's untrained row, as the original does: predictions match it (default)",
  "  feature0=trained    feature 0 uses its trained row (the fixed semantics)",
].join("\n");

function optionError(reason: string): AnnexmlError {
  return new AnnexmlError("BAD_OPTION", reason);
}

/** Parses `key=value` arguments of `annexml import` (later wins). */
export function parseImportOptions(args: readonly string[]): ImportCommandOptions {
  const out: ImportCommandOptions = { ...DEFAULT_IMPORT_COMMAND_OPTIONS };
  for (const arg of args) {
    const eq = arg.indexOf("=");
    if (eq <= 0) throw optionError(`argument '${arg}' must be key=value (e.g. num_thread=2)`);
    const key = arg.slice(0, eq);
    const value = arg.slice(eq + 1);
    if (key === "num_thread" || key === "verbose") {
      const n = Number(value);
      const max = key === "num_thread" ? 1024 : 2;
      const min = key === "num_thread" ? 1 : 0;
      if (value.trim() === "" || !Number.isInteger(n) || n < min || n > max) {
        throw optionError(`${key} must be an integer in [${min}, ${max}], but is '${value}'`);
      }
      out[key] = n;
    } else if (key === "feature0") {
      if (value !== "original" && value !== "trained") {
        throw optionError(`feature0 must be 'original' or 'trained', but is '${value}'`);
      }
      out.feature0 = value;
    } else {
      throw optionError(
        `unknown option '${key}' of annexml import; valid options: num_thread, verbose, feature0`,
      );
    }
  }
  return out;
}

/**
 * `annexml import ORIGINAL_MODEL.bin OUT_MODEL [num_thread=N] [verbose=0|1]
 * [feature0=original|trained]`: converts a model of the original C++
 * AnnexML into our format (search graphs built and stored). Returns the
 * bytes written.
 */
export async function runImport(
  input: string,
  output: string,
  args: readonly string[],
): Promise<number> {
  const o = parseImportOptions(args);
  if (resolve(input) === resolve(output)) {
    throw optionError(`the output model must not overwrite the original model ${input}`);
  }
  const reporter = new Reporter({ verbose: o.verbose });
  const start = performance.now();
  const model = await importCppModel(input, {
    numThreads: o.num_thread,
    feature0: o.feature0,
    reporter,
  });
  const bytes = await saveModel(model, output);
  reporter.info(
    `Wrote ${output} (${(bytes / 1e6).toFixed(2)} MB, origin annexml-cpp, feature0=${o.feature0}) ` +
      `in ${((performance.now() - start) / 1000).toFixed(2)} s in all`,
  );
  return bytes;
}
