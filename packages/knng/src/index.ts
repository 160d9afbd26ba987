/**
 * @annexml/knng: k-nearest-neighbour graphs (label-overlap graphs over label
 * sets; exact and approximate graphs over dense vectors) and the dense
 * distance kernel (`VectorSpace`: WebAssembly SIMD, JavaScript fallback)
 * that computes every dense distance in the repository.
 */
export {
  type ApproxKnnOptions,
  approxKnnGraph,
  DEFAULT_APPROX_KNN_OPTIONS,
  validateApproxKnnOptions,
} from "./approx-knn.js";
export {
  DEFAULT_DENSE_KNN_OPTIONS,
  type DenseKnnOptions,
  exactKnnGraph,
  validateDenseKnnOptions,
} from "./dense-knn.js";
export { type BuildDenseKnnOptions, buildDenseKnnGraph, type DenseKnnMethod } from "./graph.js";
export { innerProduct, ipBlock, ipRow4, l2Block, l2Row4, squaredL2 } from "./kernels.js";
export {
  DEFAULT_LABEL_KNN_OPTIONS,
  type LabelKnnGraph,
  LabelKnnGraphBuilder,
  type LabelKnnOptions,
  labelKnnGraph,
  pruneThreshold,
  validateLabelKnnOptions,
} from "./label-knn.js";
export {
  createVectorSpace,
  DEFAULT_VECTOR_SPACE_OPTIONS,
  type DenseMetric,
  readsInPlace,
  SpaceArena,
  type SpaceGraph,
  type SpaceKernel,
  type SpaceKernelChoice,
  type VectorSpace,
  type VectorSpaceOptions,
  validateDenseMetric,
  validateSpaceKernel,
  wasmSpaceAvailable,
} from "./space.js";
export { type ClusteredVectorsOptions, clusteredUnitVectors } from "./synthetic.js";
