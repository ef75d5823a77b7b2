import { ITEM_METADATA_FIELDS, type ItemMetadata } from '../indexes/item-metadata.js';
import type { ColumnType } from './where.js';

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
