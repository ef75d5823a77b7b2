import { describe, expect, it } from 'vitest';
import { FormatError, crc32 } from 'cbir-core';
import { readZip } from '../../src/io/zip.js';
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
