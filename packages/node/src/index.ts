/**
 * cbir-node: cbir for Node.js. Backend selection (libtensorflow when installed, wasm by default, cpu), sharp image
 * decoding, threads, atomic file writes, the HNSW and LanceDB indexes. Re-exports the whole of cbir-core. The `cbir`
 * command and its search service are the `cbir` package.
 * @packageDocumentation
 */
import { enableRelaxedSimd } from './relaxed-simd.js';
export * from 'cbir-core';
export * from './api.js';

// WebAssembly relaxed SIMD on before any of cbir's kernels compile (a call, which bundlers keep).
enableRelaxedSimd();
