import { AnnexmlModel, type Compact, type DecodedModel } from "@annexml/model";
import { nativeCrc, readModelBytes, writeContainer } from "./container.js";

/**
 * Reads a model file (`@annexml/model`'s {@link AnnexmlModel.fromBytes} on
 * the file's bytes, with zlib's CRC-32), refusing a truncated or corrupted
 * file, one of a newer format, or one that is not a model. `shared` puts
 * the whole file on one SharedArrayBuffer, so worker threads see every
 * array without a copy. `memory` (for prediction) reads it into a shared
 * WebAssembly memory instead, where every predictor's search indexes read
 * the vectors and graphs in place (see `AnnexmlModel.modelMemory`): one
 * copy of the model for any number of threads.
 */
export async function readModelFile(
  path: string,
  options: { shared?: boolean; memory?: boolean } = {},
): Promise<DecodedModel> {
  const { bytes, memory } = await readModelBytes(path, options);
  return AnnexmlModel.decode(bytes, {
    source: path,
    crc32: nativeCrc,
    memory: memory ?? undefined,
  });
}

/**
 * Writes a model atomically (temporary file and rename; a device, FIFO or
 * symlink is written through), streaming its sections; returns the file
 * size in bytes. `compact`: see `AnnexmlModel.encode` (default the model's
 * own `compact`).
 */
export async function saveModel(
  model: AnnexmlModel,
  path: string,
  options: { compact?: Compact } = {},
): Promise<number> {
  const { meta, sections } = model.encode(options);
  return writeContainer(path, meta, sections);
}
