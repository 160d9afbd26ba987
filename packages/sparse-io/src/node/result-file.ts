import {
  type FormatResultOptions,
  formatResultChunks,
  type ResultFile,
  ResultFileParser,
} from "../result-file.js";
import type { KnnResult, LabelMatrix } from "../types.js";
import { writeFileAtomic } from "./atomic-writer.js";
import { readChunks } from "./read-chunks.js";

/**
 * Writes a whole result file atomically (Node only; `-` = stdout): readers
 * never see a half-written file, and a failure leaves the target as it was.
 */
export async function writeResultFile(
  path: string,
  truth: LabelMatrix,
  predictions: KnnResult,
  options: Omit<FormatResultOptions, "rowsPerChunk"> = {},
): Promise<void> {
  await writeFileAtomic(path, formatResultChunks(truth, predictions, options));
}

/**
 * Reads a result file (Node only), streaming it in byte chunks: plain or
 * gzip (detected by content), or stdin for `-`. Errors name the file, line
 * and column.
 */
export async function readResultFile(path: string): Promise<ResultFile> {
  const parser = new ResultFileParser(path);
  for await (const chunk of readChunks(path)) parser.push(chunk);
  return parser.finish();
}
