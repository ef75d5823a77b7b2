/**
 * cbir-browser: cbir in a web page. Backend choice (webgpu, webgl, wasm with cbir's training kernels, cpu), image
 * decoding with canvas, datasets over picked files, and IndexedDB persistence whose bytes are the Node CLI's files.
 * Re-exports the whole of cbir-core.
 * @packageDocumentation
 */
export * from 'cbir-core';
export { initBrowserBackend, type BrowserBackendName, type InitBrowserBackendOptions, type BrowserBackendChoice } from './backend.js';
export { canvasDecoder, type CanvasDecoderOptions, type BrowserImageSource } from './image/canvas-decoder.js';
export { fileListDataset, type FileListDataset } from './data/file-list-dataset.js';
export { saveBytes, loadBytes, deleteBytes, saveModelToIndexedDb, loadModelFromIndexedDb, downloadBytes, downloadModel, modelFromUploads } from './io/indexeddb-store.js';
export { setWasmPaths } from './wasm-paths.js';
