/**
 * cbir-browser: cbir in a web page. Backend choice (webgpu, webgl, wasm with cbir's training kernels, cpu), image
 * decoding with canvas, datasets over picked files, and IndexedDB persistence whose bytes are the Node CLI's files.
 * Re-exports the whole of cbir-core.
 * @packageDocumentation
 */
export * from 'cbir-core';
export * from './api.js';
