export * from "./approx-knn.js";
export * from "./dense-knn.js";
export * from "./graph.js";
export * from "./label-knn.js";
export { RowHeaps } from "./row-heaps.js";
export * from "./synthetic.js";
