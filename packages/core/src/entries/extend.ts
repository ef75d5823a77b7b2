/**
 * cbir-core/extend: what a new kind of index or feature extractor is built with: the registries, the checks every
 * kind applies at its boundary (so that all kinds refuse bad input with the same errors), and the index file's
 * writer and reader. CONTRIBUTING's recipes ("Add an index", "Add an extractor") use these.
 * @packageDocumentation
 */
export { checkMatrix, checkK, emptyResult, resolveIds } from '../indexes/index.js';
export { writeIndexFile, indexFileParts } from '../indexes/flat-store.js';
export { readIndexFile, type OwnerReader } from '../indexes/deserialize-index.js';
export { type OwnerSections } from '../indexes/index.js';
export { registerIndexKind, type IndexFileReader } from '../indexes/registry.js';
export { registerExtractor, type ExtractorFactory } from '../features/registry.js';
