export * from "./approx-knn.js";
export * from "./dense-knn.js";
export * from "./graph.js";
export { innerProduct, ipBlock, ipRow4, l2Block, l2Row4, squaredL2 } from "./kernels.js";
export * from "./label-knn.js";
export { RowHeaps } from "./row-heaps.js";
export * from "./space.js";
export * from "./synthetic.js";
