import type { ItemMetadata } from '../indexes/index.js';
import type { ColumnType } from './where.js';

/**
 * The columns a `where` filter over an index's items can read: the item's id and its metadata. The same names are
 * LanceDB's columns, so a filter means the same on every index kind.
 */
export const ITEM_COLUMNS: Readonly<Record<string, ColumnType>> = Object.freeze({
  id: 'number',
  path: 'string',
  label: 'string',
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
