import { CbirError } from '../errors.js';

// A `where` filter: the subset of SQL that LanceDB (DataFusion) accepts in a query's filter, parsed and evaluated here
// so that every index kind filters with one syntax (LanceDB gets the same text and filters itself). Written by hand:
// it must agree with DataFusion on every row, three-valued NULL logic included (the tests hold it to LanceDB's own
// answers), and a small recursive-descent parser is easier to bound against hostile input than a general SQL library.

/** A column's type, which decides how its literals are read: dates compare as instants, given as ISO 8601 strings. */
export type ColumnType = 'string' | 'number' | 'boolean' | 'date';

/** A literal of a filter. */
export type WhereValue = string | number | boolean | null;

/** An operand: a column, or a literal (a date column's literals are already instants, in ms since 1970). */
export type WhereOperand = { column: string } | { value: WhereValue };

/** A parsed filter. */
export type WhereExpr =
  | { op: 'and' | 'or'; left: WhereExpr; right: WhereExpr }
  | { op: 'not'; expr: WhereExpr }
  | { op: 'compare'; compare: '=' | '!=' | '<' | '<=' | '>' | '>='; left: WhereOperand; right: WhereOperand }
  | { op: 'in'; operand: WhereOperand; list: WhereValue[]; negated: boolean }
  | { op: 'between'; operand: WhereOperand; low: WhereOperand; high: WhereOperand; negated: boolean }
  | { op: 'like'; operand: WhereOperand; pattern: string; negated: boolean }
  | { op: 'null'; operand: WhereOperand; negated: boolean }
  | { op: 'operand'; operand: WhereOperand };

/** A filter ready to test rows: {@link compileWhere}. */
export interface WhereFilter {
  /** The text it was parsed from (what LanceDB is given). */
  readonly text: string;
  readonly expr: WhereExpr;
  /** The columns it reads. */
  readonly columns: readonly string[];
  /** Whether a row passes: SQL's three-valued logic, where unknown (NULL) does not pass. */
  test(row: Readonly<Record<string, unknown>>): boolean;
}

/** The longest filter accepted, in characters, and the deepest nesting: bounds on what a request can make cbir do. */
export const MAX_WHERE_LENGTH = 10_000;
const MAX_DEPTH = 64;

type Token =
  | { kind: 'word'; text: string; at: number }
  | { kind: 'ident'; text: string; at: number }
  | { kind: 'string'; text: string; at: number }
  | { kind: 'number'; value: number; text: string; at: number }
  | { kind: 'symbol'; text: string; at: number }
  | { kind: 'end'; text: string; at: number };

const KEYWORDS = new Set(['AND', 'OR', 'NOT', 'IN', 'BETWEEN', 'LIKE', 'IS', 'NULL', 'TRUE', 'FALSE', 'TIMESTAMP']);

function fail(text: string, at: number, why: string): never {
  const near = text.slice(at, at + 24);
  throw new CbirError(
    'INVALID_ARGUMENT',
    `where: ${why} at character ${at + 1}${near ? ` ("${near}")` : ' (the end)'} of "${text.length > 200 ? `${text.slice(0, 200)}…` : text}".`,
  );
}

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const at = i;
    if (c === "'") {
      let s = '';
      for (i++; ; i++) {
        if (i >= text.length) fail(text, at, 'a string is not closed');
        if (text[i] === "'") {
          if (text[i + 1] === "'") ((s += "'"), i++);
          else break;
        } else s += text[i];
      }
      i++;
      out.push({ kind: 'string', text: s, at });
    } else if (c === '`' || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) fail(text, at, 'a quoted column name is not closed');
      out.push({ kind: 'ident', text: text.slice(i + 1, end), at });
      i = end + 1;
    } else if (/[0-9.]/.test(c)) {
      const m = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(text.slice(i));
      if (!m) fail(text, at, 'not a number');
      out.push({ kind: 'number', value: Number(m[0]), text: m[0], at });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i))!;
      const upper = m[0].toUpperCase();
      out.push(KEYWORDS.has(upper) ? { kind: 'word', text: upper, at } : { kind: 'ident', text: m[0], at });
      i += m[0].length;
    } else {
      const two = text.slice(i, i + 2);
      const sym = ['<=', '>=', '!=', '<>'].includes(two) ? two : c;
      if (!['=', '<', '>', '(', ')', ',', '-', '<=', '>=', '!=', '<>'].includes(sym))
        fail(text, at, `"${c}" is not part of a filter`);
      out.push({ kind: 'symbol', text: sym === '<>' ? '!=' : sym, at });
      i += sym.length;
    }
  }
  out.push({ kind: 'end', text: '', at: text.length });
  return out;
}

/**
 * Parses a filter: comparisons (`=`, `!=`, `<>`, `<`, `<=`, `>`, `>=`) between columns and literals, `AND`, `OR`,
 * `NOT`, parentheses, `IN (...)`, `BETWEEN ... AND ...`, `LIKE` (`%` any text, `_` one character, `\` escapes), `IS
 * [NOT] NULL`, a boolean column alone; literals `'text'` (`''` for a quote), numbers, `TRUE`, `FALSE`, `NULL`; column
 * names bare or in backquotes. Keywords are case-insensitive. Each column is checked against `columns` and each
 * literal against its column's type; a date column's literals are ISO 8601 strings (`'2024-06-01'`,
 * `'2024-06-01T18:30:00'`, read as UTC as LanceDB reads them).
 *
 * @throws {@link CbirError} INVALID_ARGUMENT naming the character where the filter stops making sense and what was
 *   expected there, an unknown column (listing the known ones), or a literal of the wrong type.
 * @example
 * ```ts
 * const f = compileWhere(parseWhere("label IN ('beach', 'food') AND taken >= '2024-06-01'", COLUMNS), COLUMNS);
 * f.test({ label: 'beach', taken: '2024-07-02T10:00:00' });   // true
 * ```
 */
export function parseWhere(text: string, columns: Readonly<Record<string, ColumnType>>): WhereExpr {
  if (typeof text !== 'string' || text.trim() === '')
    throw new CbirError(
      'INVALID_ARGUMENT',
      'where: the filter is empty; give a condition such as "label = \'beach\'".',
    );
  if (text.length > MAX_WHERE_LENGTH)
    throw new CbirError(
      'INVALID_ARGUMENT',
      `where: the filter is ${text.length} characters; at most ${MAX_WHERE_LENGTH} are accepted.`,
    );
  const tokens = tokenize(text);
  let p = 0;
  let depth = 0;
  const peek = () => tokens[p];
  const isWord = (w: string) => peek().kind === 'word' && peek().text === w;
  const isSymbol = (s: string) => peek().kind === 'symbol' && peek().text === s;
  const expect = (ok: boolean, why: string) => {
    if (!ok) fail(text, peek().at, why);
    return tokens[p++];
  };
  const typeOf = (o: WhereOperand) => ('column' in o ? columns[o.column] : undefined);

  const literal = (): WhereValue => {
    const t = peek();
    if (t.kind === 'string') return (p++, t.text);
    if (t.kind === 'number') return (p++, t.value);
    if (isSymbol('-') && tokens[p + 1].kind === 'number')
      return ((p += 2), -(tokens[p - 1] as { value: number }).value);
    if (isWord('TRUE') || isWord('FALSE')) return (p++, t.text === 'TRUE');
    if (isWord('NULL')) return (p++, null);
    // LanceDB's own spelling of a date literal, TIMESTAMP '2024-06-01 10:00:00', read as the plain string.
    if (isWord('TIMESTAMP') && tokens[p + 1].kind === 'string') return ((p += 2), tokens[p - 1].text);
    return fail(text, t.at, 'expected a value (a quoted string, a number, TRUE, FALSE or NULL)');
  };
  const operand = (): WhereOperand => {
    const t = peek();
    if (t.kind === 'ident') {
      p++;
      if (!(t.text in columns) || !Object.prototype.hasOwnProperty.call(columns, t.text))
        fail(text, t.at, `no column "${t.text}" (the columns: ${Object.keys(columns).join(', ')})`);
      return { column: t.text };
    }
    return { value: literal() };
  };
  /** A literal read as its column's type requires (dates to instants), or an error naming both. */
  const typed = (o: WhereOperand, type: ColumnType | undefined, at: number): WhereOperand => {
    if ('column' in o || type === undefined || o.value === null) return o;
    const v = o.value;
    if (type === 'date') {
      if (typeof v === 'string') {
        const ms = isoInstant(v);
        if (ms === undefined)
          fail(
            text,
            at,
            `'${v}' is not an ISO 8601 date (YYYY-MM-DD, optionally with THH:MM[:SS[.sss]] and Z or ±HH:MM)`,
          );
        return { value: ms };
      }
      return fail(text, at, "a date is compared with an ISO 8601 string, such as '2024-06-01'");
    }
    const got = typeof v;
    if (got !== type) fail(text, at, `a ${type} column is compared with a ${got}`);
    return o;
  };
  const pairTypes = (a: WhereOperand, b: WhereOperand, at: number): [WhereOperand, WhereOperand] => {
    const [ta, tb] = [typeOf(a), typeOf(b)];
    if (ta && tb && ta !== tb) fail(text, at, `a ${ta} column is compared with a ${tb} column`);
    return [typed(a, tb, at), typed(b, ta, at)];
  };

  const predicate = (): WhereExpr => {
    if (isSymbol('(')) {
      p++;
      const inner = or();
      expect(isSymbol(')'), 'expected ")"');
      return inner;
    }
    const at = peek().at;
    const left = operand();
    const negated = isWord('NOT') && ['IN', 'BETWEEN', 'LIKE'].includes(tokens[p + 1].text);
    if (negated) p++;
    if (peek().kind === 'symbol' && ['=', '!=', '<', '<=', '>', '>='].includes(peek().text)) {
      const compare = tokens[p++].text as '=' | '!=' | '<' | '<=' | '>' | '>=';
      const [l, r] = pairTypes(left, operand(), at);
      return { op: 'compare', compare, left: l, right: r };
    }
    if (isWord('IN')) {
      p++;
      expect(isSymbol('('), 'expected "(" after IN');
      const list: WhereValue[] = [];
      do {
        const v = typed({ value: literal() }, typeOf(left), at);
        list.push((v as { value: WhereValue }).value);
      } while (isSymbol(',') && ++p);
      expect(isSymbol(')'), 'expected "," or ")" in the IN list');
      return { op: 'in', operand: left, list, negated };
    }
    if (isWord('BETWEEN')) {
      p++;
      const low = operand();
      expect(isWord('AND'), 'expected AND in BETWEEN ... AND ...');
      const high = operand();
      return {
        op: 'between',
        operand: left,
        low: pairTypes(left, low, at)[1],
        high: pairTypes(left, high, at)[1],
        negated,
      };
    }
    if (isWord('LIKE')) {
      p++;
      const t = expect(peek().kind === 'string', "expected a quoted pattern after LIKE, such as '%beach%'");
      if (typeOf(left) !== undefined && typeOf(left) !== 'string')
        fail(text, at, `LIKE needs a text column, and this one holds ${typeOf(left)}s`);
      return { op: 'like', operand: left, pattern: t.text, negated };
    }
    if (negated) fail(text, peek().at, 'expected IN, BETWEEN or LIKE after NOT');
    if (isWord('IS')) {
      p++;
      const not = isWord('NOT') ? (p++, true) : false;
      expect(isWord('NULL'), 'expected NULL after IS');
      return { op: 'null', operand: left, negated: not };
    }
    if (typeOf(left) === 'boolean' || ('value' in left && typeof left.value === 'boolean'))
      return { op: 'operand', operand: left };
    return fail(text, peek().at, 'expected a comparison (=, !=, <, <=, >, >=), IN, BETWEEN, LIKE or IS');
  };
  const not = (): WhereExpr => {
    if (isWord('NOT')) {
      p++;
      if (++depth > MAX_DEPTH) fail(text, peek().at, `more than ${MAX_DEPTH} levels of nesting`);
      const expr = not();
      depth--;
      return { op: 'not', expr };
    }
    if (isSymbol('(')) {
      if (++depth > MAX_DEPTH) fail(text, peek().at, `more than ${MAX_DEPTH} levels of nesting`);
      const inner = predicate();
      depth--;
      return inner;
    }
    return predicate();
  };
  const and = (): WhereExpr => {
    let left = not();
    while (isWord('AND')) {
      p++;
      left = { op: 'and', left, right: not() };
    }
    return left;
  };
  const or = (): WhereExpr => {
    let left = and();
    while (isWord('OR')) {
      p++;
      left = { op: 'or', left, right: and() };
    }
    return left;
  };
  const expr = or();
  if (peek().kind !== 'end') fail(text, peek().at, 'expected AND, OR or the end of the filter');
  return expr;
}

/**
 * An ISO 8601 date or date-time as ms since 1970 (UTC when no offset is given), or undefined for anything else
 * (an impossible date such as February 30 included).
 *
 * @example
 * ```ts
 * isoInstant('2024-06-01');                  // Date.UTC(2024, 5, 1)
 * isoInstant('2024-06-01T12:00:00+02:00');   // Date.UTC(2024, 5, 1, 10)
 * isoInstant('2024-02-30');                  // undefined
 * ```
 */
export function isoInstant(s: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(
    s,
  );
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', sec = '0', frac = '0', zone] = m;
  const ms = Date.UTC(+y, +mo - 1, +d, +h, +mi, +sec, Math.floor(Number(`0.${frac}`) * 1000));
  const check = new Date(ms);
  if (check.getUTCMonth() !== +mo - 1 || check.getUTCDate() !== +d || +h > 23 || +mi > 59 || +sec > 59)
    return undefined;
  if (!zone || zone === 'Z') return ms;
  const sign = zone[0] === '-' ? -1 : 1;
  const [zh, zm] = [Number(zone.slice(1, 3)), Number(zone.slice(-2))];
  return ms - sign * (zh * 60 + zm) * 60_000;
}

/** A column's value as the filter compares it: dates as instants, anything missing or unreadable as NULL. */
function valueOf(row: Readonly<Record<string, unknown>>, column: string, type: ColumnType | undefined): WhereValue {
  const v = Object.prototype.hasOwnProperty.call(row, column) ? row[column] : undefined;
  if (v === undefined || v === null) return null;
  if (type === 'date') {
    if (typeof v === 'number') return Number.isFinite(v) ? v : null;
    if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.getTime();
    return typeof v === 'string' ? (isoInstant(v) ?? null) : null;
  }
  if (type === 'number') return typeof v === 'number' && !Number.isNaN(v) ? v : null;
  if (type === 'boolean') return typeof v === 'boolean' ? v : null;
  return typeof v === 'string' ? v : String(v);
}

/** `LIKE`'s pattern as a regular expression: `%` any text, `_` one character, `\` escaping the next one. */
function likeRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\' && i + 1 < pattern.length) re += pattern[++i].replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    else if (c === '%') re += '[\\s\\S]*';
    else if (c === '_') re += '[\\s\\S]';
    else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 'u');
}

/**
 * Makes a parsed filter testable on rows (objects of column values; a missing column is NULL).
 *
 * @example
 * ```ts
 * const columns = { label: 'string', bytes: 'number' } as const;
 * const f = compileWhere(parseWhere("bytes > 1000 AND NOT label = 'food'", columns), columns);
 * f.test({ label: 'beach', bytes: 2048 });   // true
 * f.test({ label: 'beach' });                // false: bytes is NULL, so the comparison is unknown
 * ```
 */
export function compileWhere(expr: WhereExpr, columns: Readonly<Record<string, ColumnType>>, text = ''): WhereFilter {
  const used = new Set<string>();
  type Tri = boolean | null;
  type Eval = (row: Readonly<Record<string, unknown>>) => Tri;
  const operand = (o: WhereOperand): ((row: Readonly<Record<string, unknown>>) => WhereValue) => {
    if ('value' in o) return () => o.value;
    used.add(o.column);
    const type = columns[o.column];
    return (row) => valueOf(row, o.column, type);
  };
  const cmp = (a: WhereValue, b: WhereValue): number | null => {
    if (a === null || b === null) return null;
    if (typeof a !== typeof b) return null;
    return a < b ? -1 : a > b ? 1 : 0;
  };
  const build = (e: WhereExpr): Eval => {
    switch (e.op) {
      case 'and': {
        const [l, r] = [build(e.left), build(e.right)];
        return (row) => {
          const a = l(row);
          if (a === false) return false;
          const b = r(row);
          return b === false ? false : a === null || b === null ? null : true;
        };
      }
      case 'or': {
        const [l, r] = [build(e.left), build(e.right)];
        return (row) => {
          const a = l(row);
          if (a === true) return true;
          const b = r(row);
          return b === true ? true : a === null || b === null ? null : false;
        };
      }
      case 'not': {
        const inner = build(e.expr);
        return (row) => {
          const v = inner(row);
          return v === null ? null : !v;
        };
      }
      case 'compare': {
        const [l, r] = [operand(e.left), operand(e.right)];
        const test = {
          '=': (c: number) => c === 0,
          '!=': (c: number) => c !== 0,
          '<': (c: number) => c < 0,
          '<=': (c: number) => c <= 0,
          '>': (c: number) => c > 0,
          '>=': (c: number) => c >= 0,
        }[e.compare];
        return (row) => {
          const c = cmp(l(row), r(row));
          return c === null ? null : test(c);
        };
      }
      case 'in': {
        const v = operand(e.operand);
        const hasNull = e.list.includes(null);
        const set = new Set(e.list.filter((x) => x !== null));
        return (row) => {
          const x = v(row);
          if (x === null) return null;
          const found = set.has(x) ? true : hasNull ? null : false;
          return found === null ? null : e.negated ? !found : found;
        };
      }
      case 'between': {
        const [v, lo, hi] = [operand(e.operand), operand(e.low), operand(e.high)];
        return (row) => {
          const x = v(row);
          const [a, b] = [cmp(x, lo(row)), cmp(x, hi(row))];
          const ge = a === null ? null : a >= 0;
          const le = b === null ? null : b <= 0;
          const both = ge === false || le === false ? false : ge === null || le === null ? null : true;
          return both === null ? null : e.negated ? !both : both;
        };
      }
      case 'like': {
        const v = operand(e.operand);
        const re = likeRegExp(e.pattern);
        return (row) => {
          const x = v(row);
          if (x === null) return null;
          const m = re.test(String(x));
          return e.negated ? !m : m;
        };
      }
      case 'null': {
        const v = operand(e.operand);
        return (row) => (v(row) === null) !== e.negated;
      }
      case 'operand': {
        const v = operand(e.operand);
        return (row) => {
          const x = v(row);
          return x === null ? null : x === true;
        };
      }
    }
  };
  const run = build(expr);
  return { text, expr, columns: [...used], test: (row) => run(row) === true };
}

/**
 * {@link parseWhere} then {@link compileWhere}: a filter's text ready to test rows.
 *
 * @example
 * ```ts
 * const filter = whereFilter("camera LIKE 'Canon%'", { camera: 'string' });
 * items.filter((m) => filter.test(m));
 * ```
 */
export function whereFilter(text: string, columns: Readonly<Record<string, ColumnType>>): WhereFilter {
  return compileWhere(parseWhere(text, columns), columns, text);
}

/** A literal as SQL: a date column's instants as LanceDB's `TIMESTAMP 'YYYY-MM-DDTHH:MM:SS.sss'` (UTC). */
function sqlValue(v: WhereValue, type: ColumnType | undefined): string {
  if (v === null) return 'NULL';
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
  if (typeof v === 'number')
    return type === 'date' ? `TIMESTAMP '${new Date(v).toISOString().slice(0, 23)}'` : String(v);
  return `'${v.replace(/'/g, "''")}'`;
}

/**
 * A parsed filter as SQL for LanceDB's `where`: the same conditions, every column in backquotes, every date literal
 * as `TIMESTAMP '...'` (which LanceDB needs; cbir's filters also take plain ISO strings), fully parenthesised.
 *
 * @example
 * ```ts
 * const columns = { taken: 'date', label: 'string' } as const;
 * whereToSql(parseWhere("taken >= '2024-06-01' AND label = 'beach'", columns), columns);
 * // "((`taken` >= TIMESTAMP '2024-06-01T00:00:00.000') AND (`label` = 'beach'))"
 * ```
 */
export function whereToSql(expr: WhereExpr, columns: Readonly<Record<string, ColumnType>>): string {
  const typeOf = (o: WhereOperand) => ('column' in o ? columns[o.column] : undefined);
  const operand = (o: WhereOperand, type: ColumnType | undefined) =>
    'column' in o ? `\`${o.column}\`` : sqlValue(o.value, type);
  const not = (negated: boolean) => (negated ? 'NOT ' : '');
  const render = (e: WhereExpr): string => {
    switch (e.op) {
      case 'and':
      case 'or':
        return `(${render(e.left)} ${e.op.toUpperCase()} ${render(e.right)})`;
      case 'not':
        return `(NOT ${render(e.expr)})`;
      case 'compare':
        return `(${operand(e.left, typeOf(e.right))} ${e.compare} ${operand(e.right, typeOf(e.left))})`;
      case 'in': {
        const type = typeOf(e.operand);
        return `(${operand(e.operand, undefined)} ${not(e.negated)}IN (${e.list.map((v) => sqlValue(v, type)).join(', ')}))`;
      }
      case 'between': {
        const type = typeOf(e.operand);
        return `(${operand(e.operand, undefined)} ${not(e.negated)}BETWEEN ${operand(e.low, type)} AND ${operand(e.high, type)})`;
      }
      case 'like':
        return `(${operand(e.operand, undefined)} ${not(e.negated)}LIKE ${sqlValue(e.pattern, 'string')})`;
      case 'null':
        return `(${operand(e.operand, undefined)} IS ${not(e.negated)}NULL)`;
      case 'operand':
        return `(${operand(e.operand, undefined)})`;
    }
  };
  return render(expr);
}
