export * from "./browser.js";
export * from "./node/atomic-writer.js";
export * from "./node/read-chunks.js";
export * from "./node/read-dataset.js";
export * from "./node/result-file.js";
export * from "./node/write-dataset.js";
