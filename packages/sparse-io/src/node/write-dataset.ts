import type { Dataset } from "../types.js";
import { type FormatOptions, formatDataset } from "../writer.js";
import { writeFileAtomic } from "./atomic-writer.js";

/**
 * Writes a dataset as Extreme Classification Repository text (with header
 * by default), atomically: the target is replaced only once the whole file
 * is written. `-` writes to stdout.
 */
export async function writeDataset(
  path: string,
  data: Pick<Dataset, "features" | "labels">,
  options: FormatOptions = {},
): Promise<void> {
  await writeFileAtomic(path, formatDataset(data, options));
}
