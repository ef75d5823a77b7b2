import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CbirError, parseDuplicateReport, type DuplicateReport, type ItemMetadata } from 'cbir-core';

/** A duplicate report as served: each member's file under the report's root, and its item id when it is indexed. */
export interface ServedDuplicates {
  report: DuplicateReport;
  /** `ids[g][m]`: the indexed item of member m of group g, if the index holds that file. */
  ids: (number | undefined)[][];
}

/**
 * Joins a report (`cbir dedup --report`) to the index served: a member whose file (under the report's root) is an
 * indexed item's path gets that item's id, so that the page can search from it.
 */
export function serveDuplicates(report: DuplicateReport, items: Map<number, ItemMetadata>): ServedDuplicates {
  const byPath = new Map<string, number>();
  for (const [id, m] of items) if (m.path) byPath.set(m.path, id);
  return {
    report,
    ids: report.groups.map((g) => g.members.map((m) => byPath.get(join(report.root, m.file)))),
  };
}

/** The largest report file `cbir serve --duplicates` reads. */
const MAX_REPORT_BYTES = 2 ** 30;

/** Reads `cbir dedup --report FILE`, checked (`parseDuplicateReport`) and bounded in size. */
export async function readDuplicateReport(path: string): Promise<DuplicateReport> {
  const { size } = await stat(path);
  if (size > MAX_REPORT_BYTES)
    throw new CbirError('FORMAT', `${path} is ${size} bytes: too large to be a cbir duplicate report.`);
  return parseDuplicateReport(await readFile(path, 'utf8'), path);
}
