import { describe, expect, it } from 'vitest';
import { FormatError } from 'cbir-core';
import { TorchTensor, readSafetensors, writeSafetensors } from 'cbir-core/io';
import { fixtureBytes } from '../helpers/fixtures.js';

describe('safetensors', () => {
  it('reads the file the Python script wrote: names, shapes, header order', () => {
    const { tensors, metadata } = readSafetensors(fixtureBytes('models/v1.safetensors'));
    expect(metadata).toEqual({ format: 'pt' });
    expect([...tensors.keys()]).toEqual([
      'encoder.0.weight',
      'encoder.0.bias',
      'encoder.3.weight',
      'encoder.3.bias',
      'decoder.0.weight',
      'decoder.0.bias',
      'decoder.2.weight',
      'decoder.2.bias',
      'decoder.4.weight',
      'decoder.4.bias',
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

  it('hostile headers are FormatErrors naming the tensor, never a TypeError or a runaway allocation', () => {
    const file = (header: unknown, body = 0) => {
      const json = new TextEncoder().encode(JSON.stringify(header));
      const out = new Uint8Array(8 + json.length + body);
      new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
      out.set(json, 8);
      return out;
    };
    for (const header of [
      { a: null },
      { a: 7 },
      { a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } },
      { a: { dtype: 'F32', shape: [1], data_offsets: [0] } },
      [1, 2],
      null,
    ]) {
      expect(() => readSafetensors(file(header, 4)), JSON.stringify(header)).toThrow(FormatError);
    }
  });

  it('a torch tensor that claims more values than its storage (stride 0), or negative strides, is refused before allocating', () => {
    const storage = new Uint8Array(16);
    // 40,000 x 40,000 over 4 floats with stride 0: 6.4 GB on load, refused.
    expect(() => new TorchTensor('float32', [40000, 40000], storage, [0, 0])).toThrow(
      /claims 1600000000 values; its storage holds 4/,
    );
    expect(() => new TorchTensor('float32', [2, 2], storage, [-2, 1], 2)).toThrow(/negative, fractional or missing/);
    expect(() => new TorchTensor('float32', [2, 2], storage, [2, 1], -1)).toThrow(FormatError);
    expect(new TorchTensor('float32', [2, 2], storage, [1, 2]).toFloat32()).toHaveLength(4); // a transposed view is fine
  });
});
