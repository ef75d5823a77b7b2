// cbir-browser's own API (what its index adds to cbir-core's): the entry point of its API docs, so that cbir-core's
// symbols are documented once, in cbir-core's.
export {
  initBrowserBackend,
  type BrowserBackendName,
  type InitBrowserBackendOptions,
  type BrowserBackendChoice,
} from './backend.js';
export { canvasDecoder, type CanvasDecoderOptions, type BrowserImageSource } from './image/canvas-decoder.js';
export { fileListDataset, type FileListDataset } from './data/file-list-dataset.js';
export {
  saveBytes,
  loadBytes,
  deleteBytes,
  saveModelToIndexedDb,
  loadModelFromIndexedDb,
  downloadBytes,
  downloadModel,
  modelFromUploads,
} from './io/indexeddb-store.js';
export { setWasmPaths } from './wasm-paths.js';
