import { describe, expect, it } from 'vitest';
import { CbirError, isoInstant, whereFilter } from 'cbir-core';
import { COLUMNS } from './columns.js';

const rows: Record<string, unknown>[] = [
  { id: 0, label: 'beach', path: 'a/beach-1.jpg', bytes: 1000, width: 640, gps: true, taken: '2024-06-01T10:00:00' },
  { id: 1, label: 'food', path: 'b/food_2.jpg', bytes: 5000, width: 1024, gps: false, taken: '2023-12-31T23:59:59' },
  { id: 2, label: 'beach', path: 'c/50%.png', bytes: 3000, gps: null },
  { id: 3, label: "o'brien", bytes: 3000, width: 640, taken: '2024-07-15' },
  { id: 4, path: 'd/x.jpg', width: 2048, gps: true, taken: Date.UTC(2025, 0, 1) },
];
const ids = (where: string) => rows.filter((r) => whereFilter(where, COLUMNS).test(r)).map((r) => r.id);

describe('where filters', () => {
  it('comparisons, AND, OR, NOT with precedence, parentheses and NULL as unknown', () => {
    expect(ids("label = 'beach'")).toEqual([0, 2]);
    expect(ids("label != 'beach'")).toEqual([1, 3]); // NULL label: unknown, not passed
    expect(ids("label <> 'beach' OR label IS NULL")).toEqual([1, 3, 4]);
    expect(ids('bytes >= 3000 AND width < 1000')).toEqual([3]);
    expect(ids("NOT label = 'beach' AND bytes > 2000 OR width = 2048")).toEqual([1, 3, 4]);
    expect(ids("NOT (label = 'beach' AND bytes > 2000 OR width = 2048)")).toEqual([0, 1, 3]);
    expect(ids('NOT bytes > 2000')).toEqual([0]); // NULL bytes stays unknown under NOT
    expect(ids('bytes = width')).toEqual([]);
    expect(ids('width > bytes')).toEqual([]); // 640 > 1000, 1024 > 5000, 640 > 3000: false; id 4 has no bytes
    expect(ids('width < bytes')).toEqual([0, 1, 3]);
    expect(ids("label = 'o''brien'")).toEqual([3]);
    expect(ids('bytes > -1 and width <= 640.0')).toEqual([0, 3]);
  });

  it('IN, BETWEEN, LIKE and IS NULL, negated; NULL inside IN', () => {
    expect(ids("label IN ('food', 'beach')")).toEqual([0, 1, 2]);
    expect(ids("label NOT IN ('food', 'beach')")).toEqual([3]);
    expect(ids("label NOT IN ('food', NULL)")).toEqual([]); // unknown for every row not 'food'
    expect(ids('bytes BETWEEN 1000 AND 3000')).toEqual([0, 2, 3]);
    expect(ids('bytes NOT BETWEEN 1000 AND 3000')).toEqual([1]);
    expect(ids("path LIKE '%.jpg'")).toEqual([0, 1, 4]);
    expect(ids("path LIKE '_/food\\_%'")).toEqual([1]);
    expect(ids("path LIKE '%\\%%'")).toEqual([2]);
    expect(ids("path NOT LIKE '%beach%'")).toEqual([1, 2, 4]);
    expect(ids('width IS NULL')).toEqual([2]);
    expect(ids('taken IS NOT NULL AND gps IS NOT NULL')).toEqual([0, 1, 4]);
  });

  it('booleans alone, dates as ISO strings (UTC), case-insensitive keywords, quoted names', () => {
    expect(ids('gps')).toEqual([0, 4]);
    expect(ids('NOT gps')).toEqual([1]);
    expect(ids('gps = false')).toEqual([1]);
    expect(ids("taken >= '2024-06-01'")).toEqual([0, 3, 4]);
    expect(ids("taken BETWEEN '2024-01-01' AND '2024-12-31T23:59:59'")).toEqual([0, 3]);
    expect(ids("taken < '2024-06-01T12:00:00+01:00'")).toEqual([0, 1]);
    expect(ids('`label` in (\'food\') or "width" = 2048')).toEqual([1, 4]);
    expect(isoInstant('2024-02-30')).toBeUndefined();
    expect(isoInstant('2024-06-01T10:00:00.5Z')).toBe(Date.UTC(2024, 5, 1, 10, 0, 0, 500));
  });

  it('refuses what it cannot read, naming the place, the unknown column or the wrong type', () => {
    const cases: [string, RegExp][] = [
      ['', /the filter is empty/],
      ["label = 'beach", /a string is not closed at character 9/],
      ['colour = 1', /no column "colour" \(the columns: label, path, bytes, width, gps, taken\) at character 1/],
      ["bytes = 'big'", /a number column is compared with a string/],
      ['label = 3', /a string column is compared with a number/],
      ["taken > '2024-13-01'", /'2024-13-01' is not an ISO 8601 date/],
      ['taken > 5', /a date is compared with an ISO 8601 string/],
      ["bytes LIKE '1%'", /LIKE needs a text column/],
      ["label = 'a' AND", /expected a value .* at character 16 \(the end\)/],
      ["label = 'a' label", /expected AND, OR or the end of the filter at character 13/],
      ['(bytes > 1', /expected "\)"/],
      ['bytes > 1; DROP TABLE x', /";" is not part of a filter/],
      ['bytes', /expected a comparison/],
      ['label = width', /a string column is compared with a number column/],
      ['NOT '.repeat(70) + 'gps', /more than 64 levels of nesting/],
      ['('.repeat(70) + 'gps' + ')'.repeat(70), /more than 64 levels of nesting/],
      ['x'.repeat(10_001), /10001 characters; at most 10000/],
      ['__proto__ = 1', /no column "__proto__"/],
    ];
    for (const [where, message] of cases) {
      expect(() => whereFilter(where, COLUMNS), where.slice(0, 40)).toThrow(CbirError);
      expect(() => whereFilter(where, COLUMNS), where.slice(0, 40)).toThrow(message);
    }
  });
});
