import { describe, expect, it } from 'vitest';
import { FormatError, readSafetensors, writeSafetensors } from 'cbir-core';
import { fixtureBytes } from '../helpers/fixtures.js';

describe('safetensors', () => {
  it('reads the file the Python script wrote: names, shapes, header order', () => {
    const { tensors, metadata } = readSafetensors(fixtureBytes('models/v1.safetensors'));
    expect(metadata).toEqual({ format: 'pt' });
    expect([...tensors.keys()]).toEqual([
      'encoder.0.weight', 'encoder.0.bias', 'encoder.3.weight', 'encoder.3.bias',
      'decoder.0.weight', 'decoder.0.bias', 'decoder.2.weight', 'decoder.2.bias', 'decoder.4.weight', 'decoder.4.bias',
    ]);
    expect(tensors.get('decoder.4.weight')!.shape).toEqual([8, 3, 6, 6]);
  });

  it('writes what it reads, with an 8-byte aligned data section', () => {
    const data = new Float32Array([1.5, -2, 3e-8, 0]);
    const bytes = writeSafetensors(new Map([['a', { shape: [2, 2], data }]]), { k: 'v' });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const back = readSafetensors(bytes);
    expect(Array.from(back.tensors.get('a')!.toFloat32())).toEqual(Array.from(data));
    expect(back.metadata).toEqual({ k: 'v' });
  });

  it('rejects a header that is not JSON', () => {
    const bytes = writeSafetensors(new Map([['a', { shape: [1], data: new Float32Array(1) }]]));
    bytes[10] = 0x00;
    expect(() => readSafetensors(bytes)).toThrow(FormatError);
  });
});
