import { setFlagsFromString } from 'node:v8';

/** A module whose one function runs `f32x4.relaxed_madd` on three zero vectors: valid only with relaxed SIMD. */
const PROBE = (() => {
  const zeros = [0xfd, 0x0c, ...new Array<number>(16).fill(0)]; // v128.const 0
  const body = [0x00, ...zeros, ...zeros, ...zeros, 0xfd, 0x85, 0x02, 0x0b]; // no locals; relaxed_madd; end
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // magic, version
    ...[0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b], // type section: () -> v128
    ...[0x03, 0x02, 0x01, 0x00], // function section
    ...[0x0a, body.length + 2, 0x01, body.length, ...body], // code section
  ]);
})();

/**
 * Turns on WebAssembly relaxed SIMD where this Node has it behind a flag (Node 20's V8 11.3; on by default from Node
 * 22), so that cbir's SIMD kernels load their relaxed build: its convolutions fuse each multiply-add into one FMA
 * where the CPU has one, about 10% off a V2 training step. The flag only makes more modules valid: modules that
 * do not use the new instructions compile and run as before. `CBIR_RELAXED_SIMD=0` in the environment leaves it off.
 * cbir-node's entry calls it as it loads, before any kernel compiles, and `initNodeBackend` again.
 *
 * @returns Whether relaxed SIMD is available now.
 * @internal
 */
export function enableRelaxedSimd(): boolean {
  if (WebAssembly.validate(PROBE)) return true;
  if (process.env.CBIR_RELAXED_SIMD === '0') return false;
  setFlagsFromString('--experimental-wasm-relaxed-simd');
  return WebAssembly.validate(PROBE);
}
