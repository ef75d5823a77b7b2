// WebAssembly is part of every runtime cbir supports; core uses only the subset below (its own SIMD kernels,
// src/compute/wasm-simd/), declared here because TypeScript's declarations of it live in the DOM library. Compilations without
// DOM types that include core's sources (core's, cbir-node's) include this file; none of it is in the public API.
declare namespace WebAssembly {
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Instance {
    constructor(module: Module, imports?: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, unknown>;
  }
  class Memory {
    constructor(descriptor: { initial: number; maximum?: number; shared?: boolean });
    readonly buffer: ArrayBuffer;
    grow(delta: number): number;
  }
  function validate(bytes: Uint8Array): boolean;
  function compile(bytes: Uint8Array): Promise<Module>;
}
