import { describe, expect, it } from 'vitest';
import { FormatError } from 'cbir-core';
import { crc32 } from 'cbir-core/io';
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

describe('readZip refuses what no checksum covers', () => {
  const entry = (name: string) => ({ name, data: new TextEncoder().encode('x') });
  it('entry names that are absolute or climb with "..", by name', () => {
    for (const name of ['../evil.pkl', '/etc/passwd', 'a/../../b', 'C:\\x', '\\\\host\\share', 'a\\..\\b'])
      expect(() => readZip(writeZip([entry('ok/version'), entry(name)]), 'h.pth'), name).toThrow(
        /h\.pth has an entry named .*an absolute path or one with "\.\.": refused, as a hostile archive/,
      );
    expect(readZip(writeZip([entry('a/..b/c'), entry('x..y')])).map((e) => e.name)).toEqual(['a/..b/c', 'x..y']);
  });

  it("bytes between entries, a padding record's id or bytes changed, and torch.save's own files read", () => {
    const good = writeZip([entry('a/data.pkl'), entry('a/data/0')]);
    expect(readZip(good)).toHaveLength(2);
    // A byte slipped between the first entry and the second: the offsets no longer tile the file.
    const firstEnd = readZip(good)[0].data.byteOffset + 1;
    const gap = new Uint8Array(good.length + 1);
    gap.set(good.subarray(0, firstEnd));
    gap.set(good.subarray(firstEnd), firstEnd + 1);
    expect(() => readZip(gap, 'g.zip')).toThrow(/g\.zip/);
    const fb = good.indexOf(0x46, 30); // the F of the first entry's FB padding
    for (const [at, v] of [
      [fb, 0x47], // FB -> GB: an unknown record
      [fb + 4, 0x01], // a padding byte
    ] as const) {
      const bad = good.slice();
      bad[at] = v;
      expect(() => readZip(bad, 'p.zip')).toThrow(/p\.zip .*(unknown id|padding)/);
    }
    expect(readZip(fixtureBytes('models/v1-checkpoint.pth')).length).toBeGreaterThan(3);
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
