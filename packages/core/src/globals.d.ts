// Core compiles without DOM and Node types, so a platform API used by mistake fails to compile. The WHATWG
// encoding API is the one exception: every runtime cbir supports (Node >= 11, browsers, workers, Deno) has it.
declare class TextEncoder {
  encode(input?: string): Uint8Array;
}
declare class TextDecoder {
  constructor(label?: string);
  decode(input?: ArrayBufferView | ArrayBuffer): string;
}
// AbortSignal is universal too (Node >= 17.3, browsers since 2022); core reads `aborted` and calls `throwIfAborted`.
interface AbortSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  throwIfAborted(): void;
}
// WebAssembly is part of every runtime cbir supports; core uses only the subset below (its own SIMD
// kernels, src/simd/), declared here because TypeScript's declarations of it live in the DOM library.
declare namespace WebAssembly {
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Instance {
    constructor(module: Module, imports?: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, unknown>;
  }
  class Memory {
    constructor(descriptor: { initial: number; maximum?: number });
    readonly buffer: ArrayBuffer;
    grow(delta: number): number;
  }
  function validate(bytes: Uint8Array): boolean;
  function compile(bytes: Uint8Array): Promise<Module>;
}
