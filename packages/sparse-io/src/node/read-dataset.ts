import { stat } from "node:fs/promises";
import { badOption } from "../errors.js";
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

/** Options of {@link readDatasetBatches}. */
export interface BatchOptions extends Omit<ParseOptions, "source" | "sizeHint"> {
  /** Rows per batch (default 4096); a batch may be larger by the rows of one chunk. */
  batchRows?: number;
  /**
   * Yield whatever rows a chunk completed instead of waiting for a full
   * batch (default: only for stdin, so predictions can stream line by line).
   */
  eager?: boolean;
}

/**
 * Streams a dataset file as consecutive batches of rows in bounded memory
 * (row order preserved; the header's row count is checked at the end).
 */
export async function* readDatasetBatches(
  path: string,
  options: BatchOptions = {},
): AsyncGenerator<Dataset, void, undefined> {
  const batchRows = options.batchRows ?? 4096;
  if (!Number.isInteger(batchRows) || batchRows < 1) {
    throw badOption(`batchRows must be a positive integer, but is ${batchRows}`);
  }
  const eager = options.eager ?? path === "-";
  const parser = new DatasetParser({ ...options, source: path });
  for await (const chunk of readChunks(path)) {
    parser.push(chunk);
    if (parser.pendingRows >= batchRows || (eager && parser.pendingRows > 0))
      yield parser.takeRows();
  }
  const last = parser.finish();
  if (last.features.rows > 0) yield last;
}
