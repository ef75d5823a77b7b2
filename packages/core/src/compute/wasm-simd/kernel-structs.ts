// The C structs kernels.c's convolution and diffusion kernels take their arguments in, field by field, written by
// name from TypeScript and checked against the offsets C reports (its layout_* exports) when the kernels are created.

/** Each struct's fields in declaration order: int32s and pointers (4 bytes), or `name:f64` (8 bytes, 8-aligned). */
// prettier-ignore
export const KERNEL_STRUCTS = {
  Conv: ['x', 'n', 'h', 'w', 'ci', 'f', 'kh', 'kw', 'co', 'oh', 'ow', 'sy', 'sx', 'dy', 'dx', 'top', 'left', 'bias', 'relu', 'zero', 'out'],
  ConvGrad: ['x', 'n', 'h', 'w', 'ci', 'dy', 'oh', 'ow', 'co', 'kh', 'kw', 'sy', 'sx', 'top', 'left', 'rowsPerBlock', 'dw'],
  Wino: ['x', 'n', 'h', 'w', 'ci', 'u', 'co', 'oh', 'ow', 'top', 'left', 'blockTiles', 'bias', 'relu', 'scratch', 'scratchFloats', 'out'],
  WinoGrad: ['x', 'n', 'h', 'w', 'ci', 'dy', 'oh', 'ow', 'co', 'top', 'left', 'blockTiles', 'scratch', 'scratchFloats', 'du', 'duDoubles'],
  Diffusion: ['alpha:f64', 'tol:f64', 'row_ptr', 'cols', 'vals', 'y', 'f', 'work', 'n', 'm', 'max_iter'],
} as const;

/** A struct of {@link KERNEL_STRUCTS}. */
export type KernelStructName = keyof typeof KERNEL_STRUCTS;
type FieldName<F> = F extends `${infer N}:f64` ? N : F;
/** The values of a struct's fields, by name (pointers are byte offsets into the kernels' memory). */
export type KernelStructValues<S extends KernelStructName> = Record<
  FieldName<(typeof KERNEL_STRUCTS)[S][number]>,
  number
>;

/** A struct's layout as the C compiler lays it out for wasm32: its size, then each field's name, offset and width. */
export interface StructLayout {
  size: number;
  fields: { name: string; offset: number; f64: boolean }[];
}

/** The layout {@link KERNEL_STRUCTS} declares for `name`, with C's alignment rules. */
export function structLayout(name: KernelStructName): StructLayout {
  let offset = 0;
  let align = 4;
  const fields = KERNEL_STRUCTS[name].map((spec: string) => {
    const f64 = spec.endsWith(':f64');
    const width = f64 ? 8 : 4;
    align = Math.max(align, width);
    offset = Math.ceil(offset / width) * width;
    const field = { name: f64 ? spec.slice(0, -4) : spec, offset, f64 };
    offset += width;
    return field;
  });
  return { size: Math.ceil(offset / align) * align, fields };
}

/**
 * Checks every struct's declared layout against what `layout(name)` reports from C (its size, then its fields'
 * offsets in declaration order), throwing with both when they differ.
 */
export function assertStructLayouts(layout: (name: KernelStructName) => number[]): void {
  for (const name of Object.keys(KERNEL_STRUCTS) as KernelStructName[]) {
    const ours = structLayout(name);
    const expected = [ours.size, ...ours.fields.map((f) => f.offset)];
    const actual = layout(name);
    if (expected.length !== actual.length || expected.some((v, i) => v !== actual[i])) {
      throw new Error(
        `kernels.c's struct ${name} is laid out as [size, offsets...] = [${actual.join(', ')}], but KERNEL_STRUCTS ` +
          `(compute/wasm-simd/kernel-structs.ts) declares [${expected.join(', ')}]: make its field list match the struct, then rebuild ` +
          `with scripts/simd/build.sh.`,
      );
    }
  }
}
