// Reads a WebAssembly module's code section instruction by instruction, for the rules the kernels' binaries must keep
// (see ../simd/binary-rules.test.ts). Written by hand: it needs only the immediates' sizes of the MVP, SIMD, bulk
// memory and atomics opcodes (what clang emits for kernels.c), not a full decoder such as wabt's.

/** What one function body holds: its instructions' opcodes (prefixed ones as `0xFD:n`), in order. */
export interface WasmFunctionCode {
  index: number;
  opcodes: string[];
}

class Reader {
  constructor(
    private readonly b: Uint8Array,
    public at = 0,
  ) {}
  byte(): number {
    if (this.at >= this.b.length) throw new Error(`wasm: read past the end at byte ${this.at}`);
    return this.b[this.at++];
  }
  u32(): number {
    let r = 0;
    for (let shift = 0; ; shift += 7) {
      const x = this.byte();
      r += (x & 0x7f) * 2 ** shift;
      if (!(x & 0x80)) return r;
    }
  }
  /** A signed LEB128 of any width (only skipped). */
  sleb(): void {
    while (this.byte() & 0x80);
  }
  skip(n: number): void {
    this.at += n;
  }
}

const MEMARG = 'memarg';
/** 0xFD sub-opcodes and their immediates (those not listed take none). */
function simdImmediates(op: number): string[] {
  if (op <= 11 || op === 92 || op === 93) return [MEMARG];
  if (op === 12 || op === 13) return ['bytes16'];
  if (op >= 21 && op <= 34) return ['lane'];
  if (op >= 84 && op <= 91) return [MEMARG, 'lane'];
  return [];
}

function instruction(r: Reader): string {
  const op = r.byte();
  const memarg = () => (r.u32(), r.u32());
  if (op === 0x02 || op === 0x03 || op === 0x04) {
    const t = r.byte();
    if (t !== 0x40 && (t < 0x6f || t > 0x7f)) (r.at--, r.sleb());
  } else if (op === 0x0c || op === 0x0d || op === 0x10 || (op >= 0x20 && op <= 0x26) || op === 0xd2) r.u32();
  else if (op === 0x0e) {
    for (let n = r.u32() + 1; n > 0; n--) r.u32();
  } else if (op === 0x11) (r.u32(), r.u32());
  else if (op === 0x1c) r.skip(r.u32());
  else if (op >= 0x28 && op <= 0x3e) memarg();
  else if (op === 0x3f || op === 0x40 || op === 0xd0) r.byte();
  else if (op === 0x41 || op === 0x42) r.sleb();
  else if (op === 0x43) r.skip(4);
  else if (op === 0x44) r.skip(8);
  else if (op === 0xfc) {
    const sub = r.u32();
    if (sub === 8) (r.u32(), r.byte());
    else if (sub === 10) r.skip(2);
    else if (sub === 11) r.byte();
    else if (sub === 9 || sub === 13 || (sub >= 15 && sub <= 17)) r.u32();
    else if (sub === 12 || sub === 14) (r.u32(), r.u32());
    return `0xfc:${sub}`;
  } else if (op === 0xfd) {
    const sub = r.u32();
    for (const imm of simdImmediates(sub)) imm === MEMARG ? memarg() : r.skip(imm === 'lane' ? 1 : 16);
    return `0xfd:${sub}`;
  } else if (op === 0xfe) {
    const sub = r.u32();
    if (sub === 3) r.byte();
    else memarg();
    return `0xfe:${sub}`;
  }
  return `0x${op.toString(16).padStart(2, '0')}`;
}

/**
 * Every function body of a module, decoded to its opcodes. Throws when a body does not decode to exactly its size
 * ending in `end` (an opcode this reader does not know would show there).
 *
 * @example
 * ```ts
 * const globalsTouched = wasmFunctionCode(bytes).filter((f) => f.opcodes.some((o) => o === '0x23' || o === '0x24'));
 * ```
 */
export function wasmFunctionCode(bytes: Uint8Array): WasmFunctionCode[] {
  const r = new Reader(bytes, 8);
  let imported = 0;
  const out: WasmFunctionCode[] = [];
  while (r.at < bytes.length) {
    const id = r.byte();
    const size = r.u32();
    const end = r.at + size;
    if (id === 2) {
      // Imports: count the functions, which come first in the function index space.
      for (let n = r.u32(); n > 0; n--) {
        r.skip(r.u32());
        r.skip(r.u32());
        const kind = r.byte();
        if (kind === 0) (r.u32(), imported++);
        else if (kind === 1) (r.byte(), r.byte() & 1 ? (r.u32(), r.u32()) : r.u32());
        else if (kind === 2) r.byte() & 1 ? (r.u32(), r.u32()) : r.u32();
        else if (kind === 3) r.skip(2);
      }
    } else if (id === 10) {
      const count = r.u32();
      for (let f = 0; f < count; f++) {
        const bodyEnd = r.u32() + r.at;
        for (let groups = r.u32(); groups > 0; groups--) (r.u32(), r.byte());
        const opcodes: string[] = [];
        while (r.at < bodyEnd) opcodes.push(instruction(r));
        if (r.at !== bodyEnd || opcodes.at(-1) !== '0x0b')
          throw new Error(`wasm: function ${imported + f} did not decode to its size`);
        out.push({ index: imported + f, opcodes });
      }
    }
    r.at = end;
  }
  return out;
}
