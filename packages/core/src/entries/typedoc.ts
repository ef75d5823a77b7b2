/**
 * cbir-core: content-based image retrieval on TensorFlow.js, platform-free. The task API is the package's main entry
 * (`import { ... } from 'cbir-core'`); `io`, `extend` and `compute` document its subpath exports (`cbir-core/io`,
 * `cbir-core/extend`, `cbir-core/compute`). This file is TypeDoc's view of the package (one module, the subpaths as
 * namespaces, as tfjs documents its own), not an entry that code imports.
 * @packageDocumentation
 */
export * from '../index.js';
export * as io from './io.js';
export * as extend from './extend.js';
export * as compute from './compute.js';
