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
