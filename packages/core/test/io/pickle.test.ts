import { describe, expect, it } from 'vitest';
import { FormatError } from 'cbir-core';
import { PyFloat, PyTuple, orderedDict } from 'cbir-core/io';
import { PyPersistentId, pickle, unpickle, type PickleHooks, type PickleValue } from '../../src/io/pickle.js';

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
    const hex =
      '8004952f000000000000008c0b636f6c6c656374696f6e73948c0b4f726465726564446963749493942952948c0178945d94284b014b0265732e';
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

describe('pickle', () => {
  // Python's own bytes, from pickle.Pickler(f, 2) with fast = True (no memo, which pickle does not write).
  it("writes Python's protocol-2 bytes for dicts, tuples, lists, ints, floats, strings, None and booleans", () => {
    // {'a': (1, -2, 70000, 2**40, -2**40), 'b': [1.5, None, True, False], 'c': 'é', 'd': 3.0, 5: (), 'e': (7,)}
    const value = new Map<PickleValue, PickleValue>([
      ['a', new PyTuple([1, -2, 70000, 2 ** 40, -(2 ** 40)])],
      ['b', [1.5, null, true, false]],
      ['c', 'é'],
      ['d', new PyFloat(3)],
      [5, new PyTuple([])],
      ['e', new PyTuple([7])],
    ]);
    expect(Buffer.from(pickle(value)).toString('hex')).toBe(
      '80027d28580100000061284b014afeffffff4a701101008a060000000000018a060000000000ff745801000000625d28473ff80000000000004e8889655801000000635802000000c3a95801000000644740080000000000004b05295801000000654b0785752e',
    );
    // collections.OrderedDict([('x', 1), ('y', [])])
    expect(
      Buffer.from(
        pickle(
          orderedDict(
            new Map<PickleValue, PickleValue>([
              ['x', 1],
              ['y', []],
            ]),
          ),
        ),
      ).toString('hex'),
    ).toBe('800263636f6c6c656374696f6e730a4f726465726564446963740a2952285801000000784b015801000000795d752e');
  });

  it('round-trips through unpickle, persistent ids and long lists included', () => {
    const list = Array.from({ length: 2500 }, (_, i) => i * 3);
    const v = unpickle(
      pickle(
        new Map<PickleValue, PickleValue>([
          ['l', list],
          ['p', new PyPersistentId(new PyTuple(['storage', 'k']))],
        ]),
      ),
      hooks,
    ) as Map<string, unknown>;
    expect(v.get('l')).toEqual(list);
    expect(v.get('p')).toEqual({ pid: ['storage', 'k'] });
  });

  it('refuses what it cannot write', () => {
    expect(() => pickle(2 ** 60)).toThrow(/beyond 2\^53/);
    expect(() => pickle(new Date() as unknown as PickleValue)).toThrow(/cannot pickle \[object Date\]/);
  });
});
