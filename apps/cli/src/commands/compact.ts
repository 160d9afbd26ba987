import type { Compact } from "@annexml/model";
import { AnnexmlError } from "@annexml/sparse-io";
import { readModelFile, saveModel } from "../model/files.js";

/** The storages `annexml compact --to` writes. */
export const COMPACT_TARGETS = ["f16", "int8"] as const;

/**
 * `annexml compact IN_MODEL OUT_MODEL [--to f16|int8]`: rewrites a model with
 * its projection weights and embeddings as float16 (default) or int8 with
 * one scale per row, and its search graphs as u16 where they fit. Returns
 * the line to print.
 */
export async function runCompact(input: string, output: string, to: string): Promise<string> {
  if (!(COMPACT_TARGETS as readonly string[]).includes(to)) {
    throw new AnnexmlError(
      "BAD_OPTION",
      `option '--to' of compact must be ${COMPACT_TARGETS.map((t) => `"${t}"`).join(" or ")}, but is ${JSON.stringify(to)}`,
    );
  }
  const { model, fileBytes } = await readModelFile(input);
  const from = model.compact;
  const bytes = await saveModel(model, output, { compact: to as Compact });
  return (
    `${output}: ${(bytes / 1e6).toFixed(2)} MB, ${to} (from ${input}: ${(fileBytes / 1e6).toFixed(2)} MB, ` +
    `${from === "none" ? "float32" : from}; ${(fileBytes / bytes).toFixed(2)}x smaller)`
  );
}
