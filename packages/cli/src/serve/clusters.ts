import { CbirError, type ItemMetadata } from 'cbir-core';

/** Each indexed item's cluster, at one k, as `cbir cluster` wrote it (assignments.csv). */
export interface ClusterAssignments {
  /** The number of clusters. */
  k: number;
  /** `clusterOf.get(id)`: the cluster of index item `id`, 0..k-1. */
  clusterOf: Map<number, number>;
}

/**
 * Reads `cbir cluster`'s assignments.csv (`id,label,k2,k3,...`, one row per item of the feature file, in its order)
 * for the index built from that feature file: row `i` is index item `i`. Each row is checked against the index (the
 * same count; the same label; the index's path ending in the row's id), so a file of another collection is refused.
 *
 * @param items Every index item's metadata, by id.
 * @param source How messages name the file.
 * @param k Which column to use; by default the largest k in the file.
 *
 * @example
 * ```ts
 * const items = new Map(index.idList().map((id) => [id, index.metadata(id) ?? {}]));
 * const clusters = readClusterAssignments(await readFile('clusters/assignments.csv', 'utf8'), items, 'assignments.csv', 10);
 * const app = await createSearchServer({ index, clusters });
 * ```
 */
export function readClusterAssignments(
  csv: string,
  items: ReadonlyMap<number, ItemMetadata>,
  source: string,
  k?: number,
): ClusterAssignments {
  const rows = parseCsv(csv);
  const header = rows.shift();
  if (!header || header[0] !== 'id' || header[1] !== 'label')
    throw new CbirError(
      'INVALID_ARGUMENT',
      `${source} is not cbir cluster's assignments.csv: its first line should be "id,label,k2,...".`,
    );
  const ks = header.slice(2).map((h) => Number(h.replace(/^k/, '')));
  const column = k === undefined ? ks.indexOf(Math.max(...ks)) : ks.indexOf(k);
  if (column < 0 || !Number.isInteger(ks[column]))
    throw new CbirError(
      'INVALID_ARGUMENT',
      `${source} has no column for k = ${k ?? '?'}; it has ${header.slice(2).join(', ') || 'none'}.`,
    );
  const chosen = ks[column];
  // k sizes the per-cluster lists the server keeps: a hostile k = 100000000 would allocate 100 million of them.
  if (chosen < 1 || chosen > items.size)
    throw new CbirError(
      'INVALID_ARGUMENT',
      `${source}: column k${chosen} has ${chosen} clusters; the index holds ${items.size} items, so k must be in 1..${items.size}.`,
    );
  if (rows.length !== items.size)
    throw new CbirError(
      'INVALID_ARGUMENT',
      `${source} assigns ${rows.length} items; the index holds ${items.size}. Cluster the feature file the index was built from.`,
    );
  const clusterOf = new Map<number, number>();
  rows.forEach((row, i) => {
    const item = items.get(i);
    if (!item)
      throw new CbirError(
        'INVALID_ARGUMENT',
        `${source} row ${i + 2}: the index has no item ${i}; its ids are not the feature file's rows.`,
      );
    const [id, label] = row;
    if (
      (item.label !== undefined && label !== '' && item.label !== label) ||
      (item.path !== undefined && !item.path.endsWith(id))
    ) {
      throw new CbirError(
        'INVALID_ARGUMENT',
        `${source} row ${i + 2} is "${id}" (${label}); the index's item ${i} is ${item.path ?? '?'} (${item.label ?? '?'}). Cluster the feature file the index was built from.`,
      );
    }
    const c = Number(row[2 + column]);
    if (!Number.isInteger(c) || c < 0 || c >= chosen)
      throw new CbirError(
        'INVALID_ARGUMENT',
        `${source} row ${i + 2}: cluster "${row[2 + column]}" is not in 0..${chosen - 1}.`,
      );
    clusterOf.set(i, c);
  });
  return { k: chosen, clusterOf };
}

/** RFC 4180 fields: quoted fields may hold commas, quotes ("") and line breaks. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') ((field += '"'), i++);
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') (row.push(field), (field = ''));
    else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      (row.push(field), (field = ''));
      (rows.push(row), (row = []));
    } else field += ch;
  }
  if (field !== '' || row.length) (row.push(field), rows.push(row));
  return rows.filter((r) => r.length > 1 || r[0] !== '');
}
