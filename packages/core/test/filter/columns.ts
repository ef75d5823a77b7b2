import type { ColumnType } from 'cbir-core';

/** The columns the where-filter tests use (cbir-core's hand cases and cbir-node's LanceDB comparison). */
export const COLUMNS: Record<string, ColumnType> = {
  label: 'string',
  path: 'string',
  bytes: 'number',
  width: 'number',
  gps: 'boolean',
  taken: 'date',
};
