// cbir-node's own API (what its index adds to cbir-core's): the entry point of its API docs, so that cbir-core's
// symbols are documented once, in cbir-core's.
export {
  initNodeBackend,
  NODE_BACKENDS,
  BACKEND_ENV,
  type NodeBackendName,
  type InitNodeBackendOptions,
  type BackendChoice,
} from './backend.js';
export { probeWebGpu, releaseWebGpu, formatAdapter, ALLOW_SOFTWARE_GPU, type GpuAdapter } from './webgpu.js';
export { sharpDecoder, encodePng, type SharpDecoderOptions, type Fit } from './image/sharp-decoder.js';
export { writeFileAtomic } from './io/atomic-write.js';
export { EncoderPool, type EncoderPoolOptions } from './encoder-pool.js';
export { ParallelExtractor, type ParallelExtractorOptions } from './parallel-extractor.js';
export { SimdThreads, type SimdThreadsOptions } from './simd-threads.js';
export {
  directoryDataset,
  skippedNote,
  IMAGE_EXTENSIONS,
  type DirectoryDataset,
  type DirectoryDatasetOptions,
} from './dataset/directory-dataset.js';
export { saveModel, loadModel } from './io/model-files.js';
export { loadTfjsModel } from './io/tfjs-model.js';
export { saveIndex, loadIndex, saveRetriever, loadRetriever, openLanceRetriever } from './indexes/index-files.js';
export { buildMontage, buildNotebookMontage, type MontageTile } from './image/montage.js';
export { loadOpenCv } from './features/load-opencv.js';
export { loadFeatures, saveFeatures } from './io/feature-files.js';
export { exportFashionMnist, FASHION_MNIST_CLASSES, type ExportFashionMnistOptions } from './dataset/fashion-mnist.js';
export {
  HnswIndex,
  registerNodeIndexKinds,
  type HnswIndexOptions,
  type Resolved as HnswResolvedOptions,
} from './indexes/hnsw-index.js';
export {
  LanceIndex,
  type LanceIndexOptions,
  type LanceAnnOptions,
  type LanceSearchOptions,
} from './indexes/lance-index.js';
export { openQueryEmbedder, queryNeedsModel, type QueryEmbedder, type QueryModel } from './query/query-embedder.js';
export { fileFacts } from './dedup/file-facts.js';
export { readImageInfo, readImageInfos } from './image/image-info.js';
export { syncIndex, canonicalPath, type SyncOptions, type SyncReport } from './sync/sync-index.js';
export {
  findDuplicates,
  duplicateReport,
  DUPLICATE_METHODS,
  DEFAULT_DUPLICATE_THRESHOLD,
  type DuplicateMethod,
  type FindDuplicatesOptions,
  type FoundDuplicates,
} from './dedup/find-duplicates.js';
export { moveFiles, type MoveReport } from './dedup/move-files.js';
