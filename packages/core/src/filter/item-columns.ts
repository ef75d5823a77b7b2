import { ITEM_METADATA_FIELDS, type ItemMetadata } from '../indexes/item-metadata.js';
import type { ColumnType, WhereFilter } from './where.js';

/**
 * The columns a `where` filter over an index's items can read: the item's id and its metadata
 * ({@link ITEM_METADATA_FIELDS}: path, label, width, height, bytes, mtime, hash, taken, make, model, orientation,
 * gps). The same names are LanceDB's columns, so a filter means the same on every index kind.
 */
export const ITEM_COLUMNS: Readonly<Record<string, ColumnType>> = Object.freeze({
  id: 'number',
  ...ITEM_METADATA_FIELDS,
});

/**
 * An item as a filter's row: its id and metadata.
 *
 * @example
 * ```ts
 * const filter = whereFilter("label = 'beach'", ITEM_COLUMNS);
 * const among = index.idList().filter((id) => filter.test(itemRow(id, index.metadata(id))));
 * ```
 */
export function itemRow(id: number, metadata: ItemMetadata | undefined): Record<string, unknown> {
  return { ...metadata, id };
}

/**
 * The ids of an index's items that pass `filter`, in the index's order: one pass over the metadata, with no object
 * made per item (the filter reads one reused row holding only the columns it names); bench:filter measured a first
 * query with a new filter at 0.5 to 0.8 s at 10^6 items, this pass included.
 *
 * @example
 * ```ts
 * const beach = idsPassing(index, whereFilter("label = 'beach' AND width >= 1024", ITEM_COLUMNS));
 * index.searchAmong(queries, 10, beach);
 * ```
 */
export function idsPassing(
  index: { idList(): number[]; metadata(id: number): ItemMetadata | undefined },
  filter: WhereFilter,
): number[] {
  const row: Record<string, unknown> = {};
  const columns = filter.columns as readonly (keyof ItemMetadata | 'id')[];
  const out: number[] = [];
  for (const id of index.idList()) {
    const m = index.metadata(id);
    for (const c of columns) row[c] = c === 'id' ? id : m?.[c];
    if (filter.test(row)) out.push(id);
  }
  return out;
}
