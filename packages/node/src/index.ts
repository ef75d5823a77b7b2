/**
 * cbir-node: cbir for Node.js. Backend selection (libtensorflow when installed, wasm by default, cpu), sharp image
 * decoding, atomic file writes, and the `cbir` CLI. Re-exports the whole of cbir-core.
 * @packageDocumentation
 */
import { enableRelaxedSimd } from './relaxed-simd.js';
export * from 'cbir-core';
export * from './api.js';

// WebAssembly relaxed SIMD on before any of cbir's kernels compile (a call, which bundlers keep).
enableRelaxedSimd();
