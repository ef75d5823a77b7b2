import { describe, expect, it } from 'vitest';
import { CbirError, parseHashEncodings } from 'cbir-core';

describe('parseHashEncodings', () => {
  it('reads what cbir dedup --encodings writes', () => {
    const files = { 'a.jpg': { hash: '8f373714acfcf4d0', size: 10, mtimeMs: 1.5 } };
    expect(parseHashEncodings(JSON.stringify({ method: 'dhash', files }), 'h.json')).toEqual({
      method: 'dhash',
      files,
    });
  });

  it('refuses anything else, naming the file and the first bad entry', () => {
    const cases: [string, RegExp][] = [
      ['{', /h\.json: not cbir hash encodings \(not JSON/],
      ['null', /expected \{ method/],
      ['{"method":"md5","files":{}}', /expected \{ method: phash \| dhash \| ahash \| whash/],
      ['{"method":"phash","files":[]}', /"files" is not an object/],
      ['{"method":"phash","files":{"x":{"hash":"8F373714ACFCF4D0","size":1,"mtimeMs":1}}}', /entry "x"/],
      ['{"method":"phash","files":{"x":{"hash":"8f373714acfcf4d0","size":-1,"mtimeMs":1}}}', /entry "x"/],
      ['{"method":"phash","files":{"x":{"hash":"8f373714acfcf4d0","size":1}}}', /entry "x"/],
    ];
    for (const [text, message] of cases) {
      expect(() => parseHashEncodings(text, 'h.json')).toThrow(CbirError);
      expect(() => parseHashEncodings(text, 'h.json')).toThrow(message);
    }
  });
});
