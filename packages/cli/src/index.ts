/**
 * cbir: the `cbir` command (train, embed, features, index, search, eval, cluster, bow, quickstart, serve, ...) and what
 * it is built from that an application may want on its own: the search service with its page, and plots rendered
 * without a browser. The library is cbir-node (Node.js) over cbir-core; this package adds Fastify and Vega.
 * @packageDocumentation
 */
export { createSearchServer, type SearchServerOptions, type ServerTimeouts } from './serve/server.js';
export { readClusterAssignments, type ClusterAssignments } from './serve/clusters.js';
export { renderSvg, writePlot } from './plots/write-plot.js';
