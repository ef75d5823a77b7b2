import { CbirError, FormatError } from '../errors.js';

/** A Python global (`module.name`) that the unpickler met and resolved through `findClass`. */
export interface PickleGlobal {
  readonly module: string;
  readonly name: string;
}

/** A call the unpickler could not evaluate itself: `callable(...args)`, resolved by `reduce`. */
export interface PickleHooks {
  /** Resolves `GLOBAL module name`. Throw to reject globals outside the allowed subset. */
  findClass(module: string, name: string): unknown;
  /** Evaluates `REDUCE`: `callable(*args)`. */
  reduce(callable: unknown, args: unknown[]): unknown;
  /** Resolves `BINPERSID`. */
  persistentLoad(pid: unknown): unknown;
  /** Evaluates `NEWOBJ` (`cls.__new__(cls, *args)`); without it `NEWOBJ` is refused. */
  newObj?(cls: unknown, args: unknown[]): unknown;
  /** Applies `BUILD` (`obj.__setstate__(state)`); without it the state is dropped (state dicts only set metadata there). */
  build?(obj: unknown, state: unknown): void;
}

const MARK = Symbol('mark');

/**
 * A small unpickler for the subset of Python's pickle protocols 2 to 5 that PyTorch state dicts and pickled numpy
 * arrays and plain objects use: dicts, lists, tuples, strings, numbers, booleans, `None`, bytes and bytearrays, memo
 * operations, globals (through `hooks.findClass`), `REDUCE`, `NEWOBJ` and `BUILD` (through the hooks), and persistent
 * ids. Python dicts become `Map`s (their keys may be integers), tuples and lists become arrays, bytes views into
 * `bytes` (not copies: a 2.5 GB array is not held twice).
 *
 * It never executes code: every global goes through `hooks.findClass`, which decides what is allowed.
 *
 * @throws {@link FormatError} on an opcode outside the subset, naming it and its byte offset, or on truncation.
 */
export function unpickle(bytes: Uint8Array, hooks: PickleHooks, source = 'pickle'): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const decoder = new TextDecoder();
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  let p = 0;

  const need = (n: number) => {
    if (p + n > bytes.length)
      throw new FormatError(`unpickle: ${source} is truncated at byte ${p} (needs ${n} more bytes).`);
  };
  const u8 = () => (need(1), bytes[p++]);
  const u16 = () => (need(2), (p += 2), view.getUint16(p - 2, true));
  const u32 = () => (need(4), (p += 4), view.getUint32(p - 4, true));
  const i32 = () => (need(4), (p += 4), view.getInt32(p - 4, true));
  const u64 = () => (need(8), (p += 8), Number(view.getBigUint64(p - 8, true)));
  const take = (n: number) => (need(n), (p += n), bytes.subarray(p - n, p));
  const line = () => {
    const end = bytes.indexOf(0x0a, p);
    if (end < 0) throw new FormatError(`unpickle: ${source} is truncated inside a text line at byte ${p}.`);
    const s = decoder.decode(bytes.subarray(p, end));
    p = end + 1;
    return s;
  };
  const popMark = (): unknown[] => {
    const at = stack.lastIndexOf(MARK);
    if (at < 0) throw new FormatError(`unpickle: ${source} pops to a MARK that is not on the stack (byte ${p}).`);
    const items = stack.splice(at);
    items.shift();
    return items;
  };
  const top = () => {
    if (stack.length === 0) throw new FormatError(`unpickle: ${source} reads from an empty stack at byte ${p}.`);
    return stack[stack.length - 1];
  };
  const pop = () => {
    top();
    return stack.pop();
  };
  const setItems = (dict: unknown, items: unknown[]) => {
    if (!(dict instanceof Map)) throw new FormatError(`unpickle: ${source} sets items on a non-dict at byte ${p}.`);
    for (let i = 0; i + 1 < items.length; i += 2) dict.set(items[i], items[i + 1]);
  };
  const append = (list: unknown, items: unknown[]) => {
    if (!Array.isArray(list)) throw new FormatError(`unpickle: ${source} appends to a non-list at byte ${p}.`);
    list.push(...items);
  };

  for (;;) {
    const at = p;
    const op = u8();
    switch (op) {
      case 0x80:
        u8();
        break; // PROTO
      case 0x95:
        u64();
        break; // FRAME
      case 0x2e:
        return pop(); // STOP
      case 0x28:
        stack.push(MARK);
        break; // MARK
      case 0x7d:
        stack.push(new Map());
        break; // EMPTY_DICT
      case 0x5d:
        stack.push([]);
        break; // EMPTY_LIST
      case 0x29:
        stack.push([]);
        break; // EMPTY_TUPLE
      case 0x74:
        stack.push(popMark());
        break; // TUPLE
      case 0x85:
        stack.push([pop()]);
        break; // TUPLE1
      case 0x86: {
        const b = pop();
        const a = pop();
        stack.push([a, b]);
        break;
      } // TUPLE2
      case 0x87: {
        const c = pop();
        const b = pop();
        const a = pop();
        stack.push([a, b, c]);
        break;
      } // TUPLE3
      case 0x6c:
        stack.push(popMark());
        break; // LIST
      case 0x64: {
        const m = new Map();
        setItems(m, popMark());
        stack.push(m);
        break;
      } // DICT
      case 0x73: {
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      } // SETITEM
      case 0x75: {
        const items = popMark();
        setItems(top(), items);
        break;
      } // SETITEMS
      case 0x61: {
        const v = pop();
        append(top(), [v]);
        break;
      } // APPEND
      case 0x65: {
        const items = popMark();
        append(top(), items);
        break;
      } // APPENDS
      case 0x71:
        memo.set(u8(), top());
        break; // BINPUT
      case 0x72:
        memo.set(u32(), top());
        break; // LONG_BINPUT
      case 0x94:
        memo.set(memo.size, top());
        break; // MEMOIZE
      case 0x68:
      case 0x6a: {
        // BINGET, LONG_BINGET
        const i = op === 0x68 ? u8() : u32();
        if (!memo.has(i))
          throw new FormatError(`unpickle: ${source} reads memo slot ${i}, which was never set (byte ${at}).`);
        stack.push(memo.get(i));
        break;
      }
      case 0x63: {
        const module = line();
        const name = line();
        stack.push(hooks.findClass(module, name));
        break;
      } // GLOBAL
      case 0x93: {
        const name = pop();
        const module = pop();
        stack.push(hooks.findClass(String(module), String(name)));
        break;
      } // STACK_GLOBAL
      case 0x52: {
        const args = pop();
        const fn = pop();
        stack.push(hooks.reduce(fn, args as unknown[]));
        break;
      } // REDUCE
      case 0x62: {
        const state = pop();
        hooks.build?.(top(), state);
        break;
      } // BUILD
      case 0x81: {
        // NEWOBJ
        const args = pop();
        const cls = pop();
        if (!hooks.newObj)
          throw new FormatError(
            `unpickle: ${source} builds an object (NEWOBJ at byte ${at}), which this reader does not accept.`,
          );
        stack.push(hooks.newObj(cls, args as unknown[]));
        break;
      }
      case 0x51:
        stack.push(hooks.persistentLoad(pop()));
        break; // BINPERSID
      case 0x4a:
        stack.push(i32());
        break; // BININT
      case 0x4b:
        stack.push(u8());
        break; // BININT1
      case 0x4d:
        stack.push(u16());
        break; // BININT2
      case 0x8a: {
        // LONG1: little-endian two's complement
        const n = u8();
        const b = take(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
        if (n > 0 && b[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        stack.push(Number(v));
        break;
      }
      case 0x47:
        need(8);
        stack.push(view.getFloat64(p, false));
        p += 8;
        break; // BINFLOAT (big-endian)
      case 0x58:
        stack.push(decoder.decode(take(u32())));
        break; // BINUNICODE
      case 0x8c:
        stack.push(decoder.decode(take(u8())));
        break; // SHORT_BINUNICODE
      case 0x8d:
        stack.push(decoder.decode(take(u64())));
        break; // BINUNICODE8
      case 0x43:
        stack.push(take(u8()));
        break; // SHORT_BINBYTES
      case 0x42:
        stack.push(take(u32()));
        break; // BINBYTES
      case 0x8e:
      case 0x96:
        stack.push(take(u64()));
        break; // BINBYTES8, BYTEARRAY8 (protocol 5's in-band buffers)
      case 0x4e:
        stack.push(null);
        break; // NONE
      case 0x88:
        stack.push(true);
        break; // NEWTRUE
      case 0x89:
        stack.push(false);
        break; // NEWFALSE
      case 0x30:
        pop();
        break; // POP
      case 0x31:
        popMark();
        break; // POP_MARK
      case 0x32:
        stack.push(top());
        break; // DUP
      default:
        throw new FormatError(
          `unpickle: ${source} uses pickle opcode 0x${op.toString(16).padStart(2, '0')} ` +
            `(${JSON.stringify(String.fromCharCode(op))}) at byte ${at}, outside the subset PyTorch state dicts use. ` +
            'Save the weights with torch.save(model.state_dict(), path) or as safetensors.',
        );
    }
  }
}

/**
 * A Python float, for a value that must be pickled as a float although it is an integer (`1.0`).
 *
 * @example
 * ```ts
 * writeTorchFile(new Map([['loss', new PyFloat(1)]]));   // torch.load -> {'loss': 1.0}, not {'loss': 1}
 * ```
 */
export class PyFloat {
  constructor(readonly value: number) {}
}

/**
 * A Python tuple (arrays pickle as lists).
 *
 * @example
 * ```ts
 * writeTorchFile(new Map([['betas', new PyTuple([0.9, 0.999])]]));   // torch.load -> {'betas': (0.9, 0.999)}
 * ```
 */
export class PyTuple {
  constructor(readonly items: readonly PickleValue[]) {}
}

/**
 * A reference to a Python global, `module.name` (a class or a function), pickled by `GLOBAL`.
 *
 * @example
 * ```ts
 * new PyGlobal('collections', 'OrderedDict');
 * ```
 */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
}

/**
 * `callable(*args)` evaluated on load (`REDUCE`), then filled with `items` when given: how Python pickles an
 * `OrderedDict` (see {@link orderedDict}) or a tensor (`torch._utils._rebuild_tensor_v2(...)`).
 *
 * @example
 * ```ts
 * // collections.OrderedDict([('x', 1)])
 * const od = new PyCall(new PyGlobal('collections', 'OrderedDict'), new PyTuple([]), new Map([['x', 1]]));
 * ```
 */
export class PyCall {
  constructor(
    readonly callable: PyGlobal,
    readonly args: PyTuple,
    /** Dict items set on the result (an `OrderedDict`'s entries). */
    readonly items?: ReadonlyMap<PickleValue, PickleValue>,
  ) {}
}

/**
 * A persistent id (`BINPERSID`): how `torch.save` refers to a tensor storage kept outside the pickle.
 *
 * @example
 * ```ts
 * new PyPersistentId(new PyTuple(['storage', new PyGlobal('torch', 'FloatStorage'), '0', 'cpu', 16]));
 * ```
 */
export class PyPersistentId {
  constructor(readonly id: PyTuple) {}
}

/** What the pickle writer behind {@link writeTorchFile} writes: JSON-like values, `Map`s (dicts) and the Python wrappers above. */
export type PickleValue =
  | null
  | boolean
  | number
  | string
  | readonly PickleValue[]
  | ReadonlyMap<PickleValue, PickleValue>
  | PyFloat
  | PyTuple
  | PyGlobal
  | PyCall
  | PyPersistentId;

/**
 * Pickles `value` with protocol 2, the protocol `torch.save` uses, and with the opcodes Python's own pickler emits
 * for these types (so `pickle.loads` and `torch.load` read it, and {@link unpickle} reads it back). Integers pickle
 * as ints and other numbers as floats (wrap an integral float in {@link PyFloat}); arrays as lists; `Map`s as dicts.
 *
 * Written by hand because it is the inverse of {@link unpickle}'s allow-listed subset: no npm pickler writes
 * torch.save's persistent ids, and none is needed for the few opcodes a checkpoint uses.
 *
 * @throws {@link CbirError} (`INVALID_ARGUMENT`) for a value outside {@link PickleValue} or a non-finite integer.
 *
 * @example
 * ```ts
 * const bytes = pickle(new Map([['epoch', 7], ['loss', 0.0123]]));   // pickle.loads(bytes) == {'epoch': 7, 'loss': 0.0123}
 * ```
 */
export function pickle(value: PickleValue): Uint8Array {
  const out: number[] = [0x80, 2];
  const encoder = new TextEncoder();
  const bytes = (b: ArrayLike<number>) => {
    for (let i = 0; i < b.length; i++) out.push(b[i]);
  };
  const u32 = (n: number) => out.push(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
  const float = (x: number) => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, x, false);
    out.push(0x47);
    bytes(b);
  };
  const int = (n: number) => {
    if (n >= 0 && n < 256) out.push(0x4b, n);
    else if (n >= 0 && n < 65536) out.push(0x4d, n & 0xff, n >>> 8);
    else if (n >= -(2 ** 31) && n < 2 ** 31) (out.push(0x4a), u32(n));
    else {
      // LONG1: little-endian two's complement, as short as the sign allows.
      let v = BigInt(n);
      const b: number[] = [];
      do {
        b.push(Number(v & 0xffn));
        v >>= 8n;
      } while (!((v === 0n && (b[b.length - 1] & 0x80) === 0) || (v === -1n && (b[b.length - 1] & 0x80) !== 0)));
      out.push(0x8a, b.length, ...b);
    }
  };
  const items = (list: readonly PickleValue[]) => {
    for (let i = 0; i < list.length; i += 1000) {
      const chunk = list.slice(i, i + 1000);
      if (chunk.length > 1) out.push(0x28);
      chunk.forEach(write);
      out.push(chunk.length > 1 ? 0x65 : 0x61); // APPENDS, APPEND
    }
  };
  const dictItems = (entries: [PickleValue, PickleValue][]) => {
    for (let i = 0; i < entries.length; i += 1000) {
      const chunk = entries.slice(i, i + 1000);
      if (chunk.length > 1) out.push(0x28);
      for (const [k, v] of chunk) (write(k), write(v));
      out.push(chunk.length > 1 ? 0x75 : 0x73); // SETITEMS, SETITEM
    }
  };
  const tuple = (t: PyTuple) => {
    const n = t.items.length;
    if (n === 0) return void out.push(0x29);
    if (n > 3) out.push(0x28);
    t.items.forEach(write);
    out.push(n === 1 ? 0x85 : n === 2 ? 0x86 : n === 3 ? 0x87 : 0x74);
  };
  function write(v: PickleValue): void {
    if (v === null) out.push(0x4e);
    else if (v === true) out.push(0x88);
    else if (v === false) out.push(0x89);
    else if (typeof v === 'number') {
      if (Number.isInteger(v) && Number.isSafeInteger(v)) int(v);
      else if (Number.isInteger(v))
        throw new CbirError(
          'INVALID_ARGUMENT',
          `pickle: the integer ${v} is beyond 2^53; pass it as a PyFloat or a string.`,
        );
      else float(v);
    } else if (v instanceof PyFloat) float(v.value);
    else if (typeof v === 'string') {
      const b = encoder.encode(v);
      out.push(0x58);
      u32(b.length);
      bytes(b);
    } else if (v instanceof PyTuple) tuple(v);
    else if (v instanceof PyGlobal) bytes(encoder.encode(`c${v.module}\n${v.name}\n`));
    else if (v instanceof PyCall) {
      write(v.callable);
      tuple(v.args);
      out.push(0x52); // REDUCE
      if (v.items && v.items.size > 0) dictItems([...v.items]);
    } else if (v instanceof PyPersistentId) {
      tuple(v.id);
      out.push(0x51); // BINPERSID
    } else if (Array.isArray(v)) {
      out.push(0x5d);
      if (v.length > 0) items(v);
    } else if (v instanceof Map) {
      out.push(0x7d);
      if (v.size > 0) dictItems([...v]);
    } else {
      throw new CbirError(
        'INVALID_ARGUMENT',
        `pickle: cannot pickle ${Object.prototype.toString.call(v)}; expected a PickleValue.`,
      );
    }
  }
  write(value);
  out.push(0x2e);
  return Uint8Array.from(out);
}
