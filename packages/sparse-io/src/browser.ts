// Everything of @annexml/sparse-io that runs without Node: what bundlers get
// under the "browser" condition. The file and stream helpers (src/node/) are
// added by index.ts for Node.
export * from "./csr.js";
export * from "./errors.js";
export * from "./parser.js";
export * from "./random.js";
export * from "./result-file.js";
export * from "./top-k.js";
export * from "./types.js";
export * from "./wasm.js";
export * from "./writer.js";
