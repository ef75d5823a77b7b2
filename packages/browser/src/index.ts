/**
 * cbir-browser: cbir in the browser. This first version re-exports cbir-core; canvas decoding, GPU backends and
 * IndexedDB persistence arrive with the browser issue.
 * @packageDocumentation
 */
export * from 'cbir-core';
