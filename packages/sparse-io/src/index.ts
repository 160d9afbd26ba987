// @annexml/sparse-io for Node: the browser-safe API (browser.ts, the curated
// list) plus the file and stream helpers of src/node/.
export * from "./browser.js";
export { AtomicFileWriter, writeFileAtomic } from "./node/atomic-writer.js";
export { readChunks } from "./node/read-chunks.js";
export { type BatchOptions, readDataset, readDatasetBatches } from "./node/read-dataset.js";
export { readResultFile, writeResultFile } from "./node/result-file.js";
export { writeDataset } from "./node/write-dataset.js";
