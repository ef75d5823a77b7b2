import { setWasmPaths as tfjsSetWasmPaths } from '@tensorflow/tfjs-backend-wasm';

/**
 * Tells tfjs's wasm backend where its `.wasm` files are served, for static hosting and offline use: a URL prefix
 * ending in `/`, or a map from file name to URL (what a bundler's `?url` imports give). Call it before the wasm
 * backend initialises (or pass `wasmPaths` to {@link initBrowserBackend}, which calls it).
 *
 * @example
 * ```ts
 * import simd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
 * setWasmPaths({ 'tfjs-backend-wasm-simd.wasm': simd });
 * // or: setWasmPaths('/static/tfjs-wasm/');
 * ```
 */
export function setWasmPaths(prefixOrFileMap: string | Record<string, string>): void {
  tfjsSetWasmPaths(prefixOrFileMap as string);
}
