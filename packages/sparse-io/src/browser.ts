// Everything of @annexml/sparse-io that runs without Node: what bundlers get
// under the "browser" condition. The file and stream helpers (src/node/) are
// added by index.ts for Node. The public API, named one by one: a module's
// other exports are internal to the package.
export {
  columnCounts,
  normalizeRows,
  type RowView,
  rowLength,
  rowView,
  selectRows,
  transpose,
  transposeLabels,
  validateCsr,
} from "./csr.js";
export { validateDense } from "./dense.js";
export {
  AnnexmlError,
  type AnnexmlErrorCode,
  badInput,
  badOption,
  type ErrorLocation,
} from "./errors.js";
export { compactColumns, IdLookup, usedColumns } from "./id-map.js";
export { stripUndefined } from "./objects.js";
export {
  DatasetParser,
  DEFAULT_PARSE_OPTIONS,
  type ParseOptions,
  parseDataset,
} from "./parser.js";
export { deriveSeed, mix32, Rng } from "./random.js";
export { recallAtK } from "./recall.js";
export {
  DEFAULT_FORMAT_RESULT_OPTIONS,
  type FormatResultOptions,
  formatResultChunks,
  formatResultLine,
  parseResultFile,
  type ResultFile,
  ResultFileParser,
  validateFormatResultOptions,
} from "./result-file.js";
export { RowHeaps } from "./row-heaps.js";
export { TopK } from "./top-k.js";
export type {
  CsrMatrix,
  Dataset,
  DatasetHeader,
  DenseMatrix,
  KnnResult,
  LabelMatrix,
  ParseWarnings,
} from "./types.js";
export {
  compileWasm,
  createSharedWasmMemory,
  instantiateWasm,
  WASM_MAX_PAGES,
  WASM_PAGE_BYTES,
  type WasmInstance,
  type WasmMemory,
  type WasmModule,
} from "./wasm.js";
export { type FormatOptions, formatDataset } from "./writer.js";
