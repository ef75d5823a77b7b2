import { describe, expect, it } from 'vitest';
import {
  SIMD_HEAP_WASM_BASE64,
  SIMD_RELAXED_WASM_BASE64,
  SIMD_SHARED_RELAXED_WASM_BASE64,
  SIMD_SHARED_WASM_BASE64,
  SIMD_WASM_BASE64,
} from '../../../src/compute/wasm-simd/simd-binary.js';
import {
  assertStructLayouts,
  structLayout,
  type KernelStructName,
} from '../../../src/compute/wasm-simd/kernel-structs.js';
import { SimdKernels } from '../../helpers/internal.js';
import { wasmFunctionCode } from '../../helpers/wasm-code.js';

// Rules on the committed kernels binaries (CI also checks they are kernels.c as built).
const decode = (b64: string) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
const GLOBAL_GET = '0x23';
const GLOBAL_SET = '0x24';
const touchesGlobals = (bytes: Uint8Array) =>
  wasmFunctionCode(bytes)
    .filter((f) => f.opcodes.includes(GLOBAL_GET) || f.opcodes.includes(GLOBAL_SET))
    .map((f) => f.index);

/** The ids of a module's sections, in order. */
const sectionIds = (bytes: Uint8Array) => {
  const ids: number[] = [];
  for (let p = 8; p < bytes.length;) {
    ids.push(bytes[p++]);
    let size = 0;
    for (let shift = 0; ; shift += 7) {
      const b = bytes[p++];
      size |= (b & 0x7f) << shift;
      if (!(b & 0x80)) break;
    }
    p += size;
  }
  return ids;
};

/** The names a module exports (its export section, id 7: a vector of name, kind, index). */
const exportNames = (bytes: Uint8Array) => {
  let p = 8;
  const u32 = () => {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      const b = bytes[p++];
      v |= (b & 0x7f) << shift;
      if (!(b & 0x80)) return v >>> 0;
    }
  };
  while (p < bytes.length) {
    const id = bytes[p++];
    const size = u32();
    if (id !== 7) {
      p += size;
      continue;
    }
    const names: string[] = [];
    for (let n = u32(); n > 0; n--) {
      const len = u32();
      names.push(new TextDecoder().decode(bytes.subarray(p, p + len)));
      p += len + 1; // the name, then its kind
      u32(); // its index
    }
    return names;
  }
  return [];
};

describe('the SIMD kernels binaries', () => {
  it('decode instruction by instruction, every body to its size', () => {
    for (const b64 of [
      SIMD_WASM_BASE64,
      SIMD_SHARED_WASM_BASE64,
      SIMD_RELAXED_WASM_BASE64,
      SIMD_SHARED_RELAXED_WASM_BASE64,
    ]) {
      const code = wasmFunctionCode(decode(b64));
      expect(code.length).toBeGreaterThan(10);
      expect(code.some((f) => f.opcodes.some((o) => o.startsWith('0xfd:')))).toBe(true); // SIMD instructions seen
    }
  });

  it('the shared-memory build never touches the shadow stack (every thread shares one memory, and so one stack)', () => {
    // The only globals clang's code reads or writes are the stack pointer (and TLS base): a function that spills to
    // the stack, or a struct or array local, shows up here. Keep such kernels free of arrays and calls not inlined.
    expect(touchesGlobals(decode(SIMD_SHARED_WASM_BASE64))).toEqual([]);
    expect(touchesGlobals(decode(SIMD_SHARED_RELAXED_WASM_BASE64))).toEqual([]);
  });

  it("the relaxed builds fuse the convolutions' multiply-adds (f32x4.relaxed_madd), the plain ones do not", () => {
    const MADD = '0xfd:261';
    const uses = (b64: string) => wasmFunctionCode(decode(b64)).filter((f) => f.opcodes.includes(MADD)).length;
    expect(uses(SIMD_RELAXED_WASM_BASE64)).toBeGreaterThan(0);
    expect(uses(SIMD_SHARED_RELAXED_WASM_BASE64)).toBeGreaterThan(0);
    expect(uses(SIMD_WASM_BASE64)).toBe(0);
    expect(uses(SIMD_SHARED_WASM_BASE64)).toBe(0);
    // The same kernels either way.
    expect(exportNames(decode(SIMD_RELAXED_WASM_BASE64))).toEqual(exportNames(decode(SIMD_WASM_BASE64)));
    expect(exportNames(decode(SIMD_WASM_BASE64))).toContain('conv3x3_winograd');
  });

  it("the heap kernels write nothing of their own into the memory they are given (tfjs's): no stack, no data", () => {
    const bytes = decode(SIMD_HEAP_WASM_BASE64);
    expect(touchesGlobals(bytes)).toEqual([]);
    // Section ids: 11 is data (instantiation would copy it over tfjs's memory), 12 its count.
    expect(sectionIds(bytes).filter((id) => id === 11 || id === 12)).toEqual([]);
    // It imports a memory and nothing else: given only one, it instantiates.
    expect(
      () =>
        new WebAssembly.Instance(new WebAssembly.Module(bytes), {
          env: { memory: new WebAssembly.Memory({ initial: 2 }) },
        }),
    ).not.toThrow();
    expect(sectionIds(decode(SIMD_WASM_BASE64))).toContain(11); // the check sees a data section where there is one
  });

  it('the check sees a global.get where there is one', () => {
    // (module (global (mut i32) (i32.const 0)) (func global.get 0 drop))
    const bytes = Uint8Array.from([
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00, 0x03, 0x02, 0x01, 0x00, 0x06,
      0x06, 0x01, 0x7f, 0x01, 0x41, 0x00, 0x0b, 0x0a, 0x07, 0x01, 0x05, 0x00, 0x23, 0x00, 0x1a, 0x0b,
    ]);
    expect(WebAssembly.validate(bytes)).toBe(true);
    expect(touchesGlobals(bytes)).toEqual([0]);
  });
});

describe("kernels.c's structs, written by name", () => {
  it('match the layouts C reports (checked when kernels are created) and fail loudly when they do not', () => {
    const k = SimdKernels.create()!;
    const reported = (name: KernelStructName) => {
      const b = k.alloc(64, 4);
      (k.k as unknown as Record<string, (p: number) => void>)[`layout_${name}`](b.ptr);
      return Array.from(k.i32(b).subarray(0, structLayout(name).fields.length + 1));
    };
    expect(() => assertStructLayouts(reported)).not.toThrow();
    expect(reported('Diffusion').slice(0, 4)).toEqual([56, 0, 8, 16]); // two float64s, then int32s; 8-aligned size
    // A field added in C and not in KERNEL_STRUCTS: the sizes differ.
    const grown = (name: KernelStructName) =>
      name === 'Wino' ? [reported(name)[0] + 4, ...reported(name).slice(1)] : reported(name);
    expect(() => assertStructLayouts(grown)).toThrow(/struct Wino is laid out as \[size, offsets...\] = \[72, /);
    k.reset();
  });

  it('struct() writes each field at its offset, float64s included', () => {
    const k = SimdKernels.create()!;
    const b = k.struct('Diffusion', {
      alpha: 0.9,
      tol: 1e-6,
      row_ptr: 16,
      cols: 32,
      vals: 48,
      y: 64,
      f: 80,
      work: 96,
      n: 7,
      m: 3,
      max_iter: 20,
    });
    const f64 = k.f64({ ptr: b.ptr, length: 2 });
    const i32 = k.i32({ ptr: b.ptr + 16, length: 9 });
    expect(Array.from(f64)).toEqual([0.9, 1e-6]);
    expect(Array.from(i32)).toEqual([16, 32, 48, 64, 80, 96, 7, 3, 20]);
  });
});
