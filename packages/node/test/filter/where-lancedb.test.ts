import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseWhere, Rng, whereFilter, whereToSql } from 'cbir-core';
import { COLUMNS } from '../../../core/test/filter/columns.js';

// cbir's where filters against LanceDB's own (DataFusion's SQL): the same filters on the same seeded rows, NULLs in
// every column, must pass the same rows.
const FILTERS = [
  "label = 'beach'",
  "label != 'beach'",
  "label <> 'beach' OR label IS NULL",
  'bytes >= 3000 AND width < 1000',
  "NOT label = 'beach' AND bytes > 2000 OR width = 2048",
  "NOT (label = 'beach' AND bytes > 2000 OR width = 2048)",
  'NOT bytes > 2000',
  'bytes = width',
  'width < bytes',
  "label IN ('food', 'beach')",
  "label NOT IN ('food', 'beach')",
  'bytes BETWEEN 1000 AND 3000',
  'bytes NOT BETWEEN 1000 AND 3000',
  'width BETWEEN bytes AND 5000',
  "path LIKE '%.jpg'",
  "path LIKE '_/food%'",
  "path NOT LIKE '%beach%'",
  "path LIKE '%1_.png'",
  'width IS NULL',
  'taken IS NOT NULL AND gps IS NOT NULL',
  'gps',
  'NOT gps',
  'gps = false',
  'gps != true OR bytes < 1500',
  "taken >= '2024-06-01'",
  "taken BETWEEN '2024-01-01' AND '2024-12-31T23:59:59'",
  "taken < '2024-06-01T12:00:00'",
  "(label = 'food' OR label = 'beach') AND NOT (gps AND width > 1000) AND taken > '2023-06-01'",
  'bytes > -1.5 AND width <= 640.0',
  "taken IN ('2024-06-01T10:00:00', TIMESTAMP '2023-03-03 03:03:03') OR taken > TIMESTAMP '2025-06-01 00:00:00'",
  "path LIKE '%''%'",
  "label in ('food') or width = 2048",
];

describe('where filters agree with LanceDB', () => {
  let dir: string;
  const rows: Record<string, unknown>[] = [];
  let table: import('@lancedb/lancedb').Table;

  beforeAll(async () => {
    const [lancedb, arrow] = await Promise.all([import('@lancedb/lancedb'), import('apache-arrow')]);
    const rng = new Rng(35);
    const pick = <T>(xs: T[]) => xs[Math.floor(rng.next() * xs.length)];
    const maybe = <T>(v: T) => (rng.next() < 0.15 ? null : v);
    for (let id = 0; id < 400; id++) {
      const label = maybe(pick(['beach', 'food', 'bus', "o'brien"]));
      rows.push({
        id,
        label,
        path: maybe(`${pick(['a', 'b', 'c'])}/${label ?? 'x'}_${id}.${pick(['jpg', 'png'])}`),
        bytes: maybe(Math.round(rng.next() * 6000)),
        width: maybe(pick([640, 1024, 2048, 3000])),
        gps: maybe(rng.next() < 0.5),
        taken: maybe(Date.UTC(2023, 0, 1) + Math.floor(rng.next() * 3 * 365 * 86400) * 1000),
      });
    }
    dir = await mkdtemp(join(tmpdir(), 'cbir-where-lance-'));
    const db = await lancedb.connect(dir);
    const schema = new arrow.Schema([
      new arrow.Field('id', new arrow.Int64(), false),
      new arrow.Field('label', new arrow.Utf8(), true),
      new arrow.Field('path', new arrow.Utf8(), true),
      new arrow.Field('bytes', new arrow.Float64(), true),
      new arrow.Field('width', new arrow.Float64(), true),
      new arrow.Field('gps', new arrow.Bool(), true),
      new arrow.Field('taken', new arrow.TimestampMillisecond(), true),
    ]);
    table = await db.createTable(
      'rows',
      rows.map((r) => ({ ...r, taken: r.taken === null ? null : new Date(r.taken as number) })),
      { schema },
    );
  });
  afterAll(async () => {
    table?.close();
    if (dir) await rm(dir, { recursive: true });
  });

  it('passes the same rows as LanceDB for every filter', async () => {
    for (const where of FILTERS) {
      // LanceDB is given the filter as cbir renders it for LanceDB (dates as TIMESTAMP literals).
      const sql = whereToSql(parseWhere(where, COLUMNS), COLUMNS);
      const lance = (await table.query().where(sql).select(['id']).toArray())
        .map((r) => Number(r.id))
        .sort((a, b) => a - b);
      const filter = whereFilter(where, COLUMNS);
      const ours = rows.filter((r) => filter.test(r)).map((r) => r.id);
      expect(ours, where).toEqual(lance);
      expect(lance.length, where).toBeGreaterThan(0);
      expect(lance.length, where).toBeLessThan(rows.length);
    }
  });
});
