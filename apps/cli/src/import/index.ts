/**
 * `annexml import`: models of the original C++ AnnexML, read, checked and
 * converted to our model (search graphs built at import).
 */
export {
  DEFAULT_IMPORT_OPTIONS,
  type ImportOptions,
  importCppModel,
  importCppModelFrom,
  importNotes,
  validateImportOptions,
} from "./convert.js";
export {
  type CppLearner,
  type CppModel,
  type CppParams,
  type CppPart,
  type CppReadStats,
  type Feature0Mode,
  type ReadCppModelOptions,
  readCppModel,
} from "./cpp-model.js";
export { BinaryReader, READ_WINDOW_BYTES } from "./reader.js";
export { type ByteSource, fileSource, memorySource } from "./source.js";
