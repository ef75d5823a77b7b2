/**
 * cbir-core: content-based image retrieval on TensorFlow.js, platform-free.
 *
 * Models mirror the notebook's PyTorch autoencoders exactly and load their weights; see the guides in `docs/`. This
 * entry holds the task API; file formats (`cbir-core/io`), what a new index or extractor kind is built with
 * (`cbir-core/extend`) and the compute controls (`cbir-core/compute`) are subpath exports.
 * @packageDocumentation
 */
export {
  CbirError,
  DimensionMismatchError,
  NotFittedError,
  BackendUnavailableError,
  ImageDecodeError,
  FormatError,
  IndexFormatError,
  WeightsMismatchError,
  NonFiniteError,
  AbortedError,
  throwIfAborted,
  type CbirErrorCode,
} from './errors.js';
export {
  Autoencoder,
  encodeChunkSize,
  type AutoencoderOptions,
  type AutoencoderArchitecture,
  type SummaryRow,
} from './models/autoencoder.js';
export { ConvAutoencoder, CONV_AUTOENCODER } from './models/conv-autoencoder.js';
export { ConvAutoencoderV2, CONV_AUTOENCODER_V2 } from './models/conv-autoencoder-v2.js';
export type { TorchModuleSpec, TorchConvSpec } from './models/torch-modules.js';
export {
  loadTorchWeights,
  exportTorchWeights,
  exportTorchCheckpoint,
  readTorchStateDict,
  type LoadTorchWeightsOptions,
  type LoadTorchWeightsResult,
  type TorchWeightsFormat,
  type ExportTorchCheckpointOptions,
} from './weights/torch-weights.js';
export { type RawImage, type ImageDecoder, pixelView, imagesToTensor, tensorToImage } from './image/raw-image.js';
export { type ProgressEvent, type LongRunning } from './progress.js';
export { Rng } from './utils/rng.js';
export { RandomState, trainTestSplit, type TrainTestSplit } from './utils/random-state.js';
export { type ImageDataset, type DatasetEntry, arrayDataset } from './data/image-dataset.js';
export { Adam, type AdamOptions, type AdamState, type AdamSnapshot } from './training/adam.js';
export {
  serializeCheckpoint,
  deserializeCheckpoint,
  type Checkpoint,
  type EpochRecord,
} from './training/checkpoint.js';
export { trainAutoencoder, splitIndices, type TrainOptions, type TrainResult } from './training/train-autoencoder.js';
export {
  mseGradients,
  chooseMicroBatch,
  backendMemory,
  trainingBytesPerImage,
  type MemoryLimits,
} from './training/micro-batch.js';
export { type Matrix, selectRows } from './matrix.js';
export {
  type ReduceSpec,
  type ReducerState,
  parseReduce,
  reduceLatent,
  latentToChw,
  serializeReducer,
  deserializeReducer,
} from './embedding/reducer.js';
export { fitPca, PCA, type PCAOptions } from './decomposition/pca.js';
export {
  GaussianRandomProjection,
  projectionMatrix,
  type RandomProjectionOptions,
} from './decomposition/random-projection.js';
export { AveragePooling } from './decomposition/average-pooling.js';
export { embedImages, l2Normalize, type EmbedOptions, type Features } from './embedding/embed-images.js';
export { serializeFeatures, deserializeFeatures, type FeatureFile } from './features/feature-file.js';
export { readFeatures, type ReadFeaturesOptions } from './features/read-features.js';
export {
  modelFingerprint,
  readModelFingerprint,
  pipelineMismatch,
  type EmbeddingPipeline,
} from './embedding/pipeline.js';
export {
  type Index,
  type AsyncIndex,
  asAsyncIndex,
  type Metric,
  type SearchResult,
  type ItemMetadata,
  type SearchHit,
  type IndexRows,
  searchHits,
} from './indexes/index.js';
export { isInMemory, addVectors, readRows, readMetadata } from './indexes/index-ops.js';
export { ExactEuclideanIndex } from './indexes/exact-euclidean-index.js';
export { CosineIndex, normalizeRows } from './indexes/cosine-index.js';
export { LSHIndex, lshashPlanes, type LSHIndexOptions, type LSHDistance } from './indexes/lsh-index.js';
export { deserializeIndex } from './indexes/deserialize-index.js';
export {
  Retriever,
  type QueryEmbedder,
  type RetrieverOptions,
  type RetrieverSearchOptions,
  type RetrieverChange,
} from './retrieval/retriever.js';
export { type Provenance } from './retrieval/provenance.js';
export { searchFiltered, widenedSearch } from './retrieval/filtered-search.js';
export { composeQuery, type QueryExample, type ComposeQueryOptions } from './retrieval/compose-query.js';
export { imageHash, hammingDistance, HASH_METHODS, type HashMethod } from './dedup/image-hashes.js';
export { hashDuplicates, type DuplicatePair, type HashDuplicatesOptions } from './dedup/hash-duplicates.js';
export { duplicateGroups, chooseKeeper, KEEPER_RULE, type FileFacts } from './dedup/keeper.js';
export {
  duplicatesByFile,
  parseDuplicateReport,
  MAX_REPORT_GROUPS,
  type DuplicateReport,
  type DuplicateGroup,
  type DuplicateMember,
  type ScoredDuplicate,
} from './dedup/duplicate-report.js';
export { parseHashEncodings, MAX_ENCODINGS, type HashEncoding, type HashEncodings } from './dedup/hash-encodings.js';
export {
  parseWhere,
  compileWhere,
  whereFilter,
  whereToSql,
  isoInstant,
  MAX_WHERE_LENGTH,
  type ColumnType,
  type WhereExpr,
  type WhereFilter,
  type WhereOperand,
  type WhereValue,
} from './filter/where.js';
export { ITEM_COLUMNS, idsPassing, itemRow } from './filter/item-columns.js';
export {
  ITEM_METADATA_FIELDS,
  MAX_METADATA_TEXT,
  checkItemMetadata,
  type ImageInfo,
  type MetadataFieldType,
} from './indexes/item-metadata.js';
export { vectorDuplicates, type VectorDuplicatesOptions, type VectorDuplicatePair } from './dedup/vector-duplicates.js';
export {
  localFeatureDuplicates,
  type MirroredFeatures,
  type LocalDuplicatesOptions,
  type LocalDuplicatePair,
} from './dedup/local-duplicates.js';
export {
  evaluateDuplicates,
  duplicatePrecisionRecall,
  recallAtPrecision,
  type DuplicateMap,
  type DuplicateEvaluation,
  type ScoredPair,
  type PrecisionRecallPoint,
} from './dedup/evaluate-duplicates.js';
export {
  createIndex,
  indexKind,
  indexKinds,
  LSH_DEFAULTS,
  type IndexCapabilities,
  type IndexKind,
} from './indexes/registry.js';
export { readLshashPickle, type LshashPickleOptions } from './indexes/lshash-pickle.js';
export { KMeans, type KMeansOptions } from './cluster/kmeans.js';
export { MiniBatchKMeans, type MiniBatchKMeansOptions } from './cluster/mini-batch-kmeans.js';
export { type KMeansInit, type CentroidClustererOptions } from './cluster/centroid-clusterer.js';
export { elbow, distortion, type ElbowOptions, type ElbowPoint } from './cluster/elbow.js';
export {
  silhouetteSamples,
  silhouetteScore,
  type SilhouetteOptions,
  type SilhouetteScoreOptions,
} from './cluster/silhouette.js';
export { colorHistogram, colorHistogramDim, type ColorHistogramOptions } from './features/color-histogram.js';
export {
  orbDescriptors,
  orbFeatures,
  type LocalFeatures,
  ORB_DESCRIPTOR_BYTES,
  type OpenCv,
  type OpenCvMat,
  type OpenCvOrb,
  type OpenCvKeyPoints,
  type OrbOptions,
} from './features/orb.js';
export {
  BagOfVisualWords,
  descriptorMatrix,
  type BagOfVisualWordsOptions,
  type DescriptorEncoding,
} from './features/bag-of-visual-words.js';
export {
  elbowPlotSpec,
  silhouettePlotSpec,
  silhouetteAnalysisSpec,
  clusterScatterSpec,
  trainingCurveSpec,
  type VegaLiteSpec,
} from './plots/plot-specs.js';
export { mapImages, extractFeatures, extractDataset, type PerImage } from './features/extract-features.js';
export { type FeatureExtractor, type ExtractorSpec, extractMatrix, extractOne } from './features/extractor.js';
export { createExtractor, extractorKinds, type ExtractorContext } from './features/registry.js';
export { AutoencoderExtractor } from './features/autoencoder-extractor.js';
export { BowExtractor } from './features/bow-extractor.js';
export { FusionExtractor, type FusionMember } from './features/fusion-extractor.js';
export {
  PretrainedExtractor,
  tfjsModelFingerprint,
  readTfjsModelFingerprint,
  type PretrainedOptions,
  type TfjsModel,
} from './features/pretrained.js';
export {
  BlockExtractor,
  DEFAULT_FUSION,
  hellinger,
  chiSquare,
  type BlockSpec,
  type BlockNorm,
  type BlockKind,
} from './features/block-extractor.js';
export {
  colorGrid,
  colorGridDim,
  lbp,
  colorMoments,
  hog,
  type ColorGridOptions,
  type LbpOptions,
  type ColorMomentsOptions,
  type HogOptions,
} from './features/hand-crafted.js';
export { resizeArea, resizeShortSide, cropImage, toGray, toLab, toRgb, type GrayImage } from './image/image-ops.js';
export {
  modelToArtifacts,
  modelFromArtifacts,
  modelToFiles,
  modelFromFiles,
  type ModelMetadata,
} from './weights/model-artifacts.js';
export {
  DiffusionReranker,
  QueryExpansionReranker,
  searchReranked,
  restoreReranker,
  buildReranker,
  type Reranker,
  type RerankSpec,
  type Ranking,
  type DiffusionOptions,
  type QueryExpansionOptions,
} from './rerank/rerank.js';
export { type SavedSpec } from './io/saved-spec.js';
export {
  precisionAtK,
  averagePrecision,
  recallAtK,
  evaluateRetrieval,
  evaluateRetrievalAsync,
  evaluateSearch,
  type RetrievalReport,
} from './eval/metrics.js';
