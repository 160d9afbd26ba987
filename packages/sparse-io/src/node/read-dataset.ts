import { stat } from "node:fs/promises";
import { DatasetParser, type ParseOptions } from "../parser.js";
import type { Dataset } from "../types.js";
import { readChunks } from "./read-chunks.js";

/**
 * Reads a multi-label dataset file (see {@link DatasetParser} for the
 * format), streaming it in byte chunks: plain or gzip (detected by content),
 * or stdin for `-`. Errors name the file, line and column.
 */
export async function readDataset(
  path: string,
  options: Omit<ParseOptions, "source"> = {},
): Promise<Dataset> {
  let sizeHint = options.sizeHint;
  if (sizeHint === undefined && path !== "-" && !path.endsWith(".gz")) {
    sizeHint = await stat(path).then(
      (s) => (s.isFile() ? s.size : 0),
      () => 0,
    );
  }
  const parser = new DatasetParser({ ...options, sizeHint, source: path });
  for await (const chunk of readChunks(path)) parser.push(chunk);
  return parser.finish();
}
