import { describe, expect, it } from 'vitest';
import { FormatError, crc32 } from 'cbir-core';
import { readZip, writeZip } from '../../src/io/zip.js';
import { fixtureBytes } from '../helpers/fixtures.js';

describe('readZip', () => {
  it('lists the entries torch.save wrote', () => {
    const names = readZip(fixtureBytes('models/v1-state-dict.pth')).map((e) => e.name);
    expect(names).toContain('v1-state-dict/data.pkl');
    expect(names.filter((n) => n.startsWith('v1-state-dict/data/'))).toHaveLength(10);
  });

  it('rejects non-zip and truncated input', () => {
    expect(() => readZip(new Uint8Array(100))).toThrow(FormatError);
    const bytes = fixtureBytes('models/v1-state-dict.pth');
    expect(() => readZip(bytes.subarray(0, bytes.length - 30), 'x.pth')).toThrow(/x\.pth/);
  });
});

describe('crc32', () => {
  it('matches the standard check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });
});

describe('writeZip', () => {
  it('writes stored entries at 64-byte offsets that readZip (and torch.load: see make_checkpoint_fixtures.py) reads back', () => {
    const entries = [
      { name: 'archive/data.pkl', data: Uint8Array.from([1, 2, 3]) },
      { name: 'archive/data/0', data: new Uint8Array(1000).map((_, i) => i % 251) },
      { name: 'archive/version', data: new TextEncoder().encode('3\n') },
    ];
    const zip = writeZip(entries);
    const back = readZip(zip);
    expect(back.map((e) => e.name)).toEqual(entries.map((e) => e.name));
    back.forEach((e, i) => {
      expect(e.data).toEqual(entries[i].data);
      expect(e.data.byteOffset % 64).toBe(0);
    });
    expect(writeZip(entries)).toEqual(zip);
  });
});
