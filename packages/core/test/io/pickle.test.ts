import { describe, expect, it } from 'vitest';
import { FormatError } from 'cbir-core';
import { unpickle, type PickleHooks } from '../../src/io/pickle.js';

const hooks: PickleHooks = {
  findClass: (m, n) => `${m}.${n}`,
  reduce: (fn, args) => ({ fn, args }),
  persistentLoad: (pid) => ({ pid }),
};

// Bytes from Python's pickle.dumps (protocol 2 and 4), copied here so the test needs no Python.
describe('unpickle', () => {
  it('reads protocol 2: dicts, tuples, lists, numbers, strings, None, booleans, memo', () => {
    // pickle.dumps({'a': (1, -2, 70000, 2**40), 'b': [1.5, None, True, False], 'c': 'é'}, protocol=2)
    const hex =
      '80027d7100285801000000617101284b014afeffffff4a701101008a0600000000000174710258010000006271035d7104' +
      '28473ff80000000000004e88896558010000006371055802000000c3a97106752e';
    const v = unpickle(Uint8Array.from(Buffer.from(hex, 'hex')), hooks);
    expect(v).toEqual(
      new Map<string, unknown>([
        ['a', [1, -2, 70000, 2 ** 40]],
        ['b', [1.5, null, true, false]],
        ['c', 'é'],
      ]),
    );
  });

  it('reads protocol 4 framing, SHORT_BINUNICODE, MEMOIZE and STACK_GLOBAL', () => {
    // pickle.dumps(collections.OrderedDict(x=[1, 2]), protocol=4)
    const hex = '8004952f000000000000008c0b636f6c6c656374696f6e73948c0b4f726465726564446963749493942952948c0178945d94284b014b0265732e';
    const bytes = Uint8Array.from(Buffer.from(hex, 'hex'));
    const v = unpickle(bytes, { ...hooks, reduce: () => new Map() });
    expect(v).toEqual(new Map([['x', [1, 2]]]));
  });

  it('names an unsupported opcode and where it is', () => {
    // pickle.dumps(1, protocol=0) == b'I1\n.'
    expect(() => unpickle(Uint8Array.from([0x49, 0x31, 0x0a, 0x2e]), hooks)).toThrow(FormatError);
    expect(() => unpickle(Uint8Array.from([0x49, 0x31, 0x0a, 0x2e]), hooks)).toThrow(/opcode 0x49 \("I"\) at byte 0/);
  });

  it('reports truncation', () => {
    expect(() => unpickle(Uint8Array.from([0x80, 0x02, 0x58, 0x05, 0x00]), hooks)).toThrow(/truncated/);
  });
});
