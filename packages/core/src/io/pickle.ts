import { FormatError } from '../errors.js';

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
}

const MARK = Symbol('mark');

/**
 * A small unpickler for the subset of Python's pickle protocols 2 to 5 that PyTorch state dicts use:
 * dicts, lists, tuples, strings, numbers, booleans, `None`, bytes, memo operations, globals (through
 * `hooks.findClass`), `REDUCE` and `BUILD`, and persistent ids. Python dicts become `Map`s (their keys
 * may be integers), tuples and lists become arrays.
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
    if (p + n > bytes.length) throw new FormatError(`unpickle: ${source} is truncated at byte ${p} (needs ${n} more bytes).`);
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
      case 0x80: u8(); break; // PROTO
      case 0x95: u64(); break; // FRAME
      case 0x2e: return pop(); // STOP
      case 0x28: stack.push(MARK); break; // MARK
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push([]); break; // EMPTY_TUPLE
      case 0x74: stack.push(popMark()); break; // TUPLE
      case 0x85: stack.push([pop()]); break; // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); stack.push([a, b]); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); stack.push([a, b, c]); break; } // TUPLE3
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x64: { const m = new Map(); setItems(m, popMark()); stack.push(m); break; } // DICT
      case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; } // SETITEM
      case 0x75: { const items = popMark(); setItems(top(), items); break; } // SETITEMS
      case 0x61: { const v = pop(); append(top(), [v]); break; } // APPEND
      case 0x65: { const items = popMark(); append(top(), items); break; } // APPENDS
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: case 0x6a: { // BINGET, LONG_BINGET
        const i = op === 0x68 ? u8() : u32();
        if (!memo.has(i)) throw new FormatError(`unpickle: ${source} reads memo slot ${i}, which was never set (byte ${at}).`);
        stack.push(memo.get(i));
        break;
      }
      case 0x63: { const module = line(); const name = line(); stack.push(hooks.findClass(module, name)); break; } // GLOBAL
      case 0x93: { const name = pop(); const module = pop(); stack.push(hooks.findClass(String(module), String(name))); break; } // STACK_GLOBAL
      case 0x52: { const args = pop(); const fn = pop(); stack.push(hooks.reduce(fn, args as unknown[])); break; } // REDUCE
      case 0x62: pop(); break; // BUILD: state dicts only set attributes (OrderedDict._metadata) that we do not need
      case 0x51: stack.push(hooks.persistentLoad(pop())); break; // BINPERSID
      case 0x4a: stack.push(i32()); break; // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x8a: { // LONG1: little-endian two's complement
        const n = u8();
        const b = take(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
        if (n > 0 && b[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        stack.push(Number(v));
        break;
      }
      case 0x47: need(8); stack.push(view.getFloat64(p, false)); p += 8; break; // BINFLOAT (big-endian)
      case 0x58: stack.push(decoder.decode(take(u32()))); break; // BINUNICODE
      case 0x8c: stack.push(decoder.decode(take(u8()))); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(decoder.decode(take(u64()))); break; // BINUNICODE8
      case 0x43: stack.push(take(u8()).slice()); break; // SHORT_BINBYTES
      case 0x42: stack.push(take(u32()).slice()); break; // BINBYTES
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      default:
        throw new FormatError(
          `unpickle: ${source} uses pickle opcode 0x${op.toString(16).padStart(2, '0')} ` +
            `(${JSON.stringify(String.fromCharCode(op))}) at byte ${at}, outside the subset PyTorch state dicts use. ` +
            'Save the weights with torch.save(model.state_dict(), path) or as safetensors.',
        );
    }
  }
}
