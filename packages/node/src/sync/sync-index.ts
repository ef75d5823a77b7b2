import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import {
  CbirError,
  readMetadata,
  throwIfAborted,
  type ItemMetadata,
  type LongRunning,
  type QueryEmbedder,
  type Retriever,
} from 'cbir-core';
import { directoryDataset } from '../dataset/directory-dataset.js';
import { readImageInfo } from '../image/image-info.js';
import { readWholeFile } from '../io/read-file.js';

/** Options of {@link syncIndex}. */
export interface SyncOptions extends LongRunning {
  /**
   * What embeds the new and changed files: it must embed as the collection was (`openQueryEmbedder` over the
   * retriever). @defaultValue the retriever's own {@link cbir-core!Retriever.embedder | embedder}
   */
  embedder?: QueryEmbedder;
  /** Files embedded, added and committed together: what a kill can cost at most. @defaultValue 64 */
  batch?: number;
  /**
   * Called after each batch that changed the index, with whether it is the last: where a caller persists its work
   * (an index file is rewritten atomically; a LanceDB table has committed already). A rerun after a kill at any
   * moment finishes the job from the last checkpoint.
   * @defaultValue nothing: the caller persists once, after the call
   */
  checkpoint?: (final: boolean) => Promise<void>;
  /**
   * Only report what would change, touching nothing (no file is embedded). @defaultValue false
   */
  dryRun?: boolean;
}

/** What {@link syncIndex} found and did, by file (absolute paths). */
export interface SyncReport {
  /** Files not in the index, embedded and added. */
  added: string[];
  /** Files whose content changed (another SHA-256), embedded again; their old items removed. */
  changed: string[];
  /** Files whose time or size changed but not their content: their metadata renewed, the vector kept. */
  touched: string[];
  /** Indexed files that are gone from the folder: their items removed. */
  removed: string[];
  /** Files that could not be read or embedded, and why (an indexed one's old item is removed: it no longer describes the file). */
  failed: { path: string; reason: string }[];
  /** Items removed because another item held the same file (what a run killed mid-way can leave in a LanceDB table). */
  duplicates: number;
  /** Files the index already held as they are. */
  unchanged: number;
  /** The index's size afterwards. */
  size: number;
  /** Whether the call only reported ({@link SyncOptions.dryRun}). */
  dryRun: boolean;
}

/**
 * A path as the file system resolves it (symbolic links followed), or resolved as given when it is gone: how
 * {@link syncIndex} and `cbir add` match files with the paths an index holds.
 *
 * @example
 * ```ts
 * canonicalPath('photos/../photos/a.jpg');   // '/home/me/photos/a.jpg'
 * ```
 */
export function canonicalPath(path: string): string {
  try {
    return realpathSync.native(path);
  } catch {
    return resolve(path);
  }
}

interface Work {
  path: string;
  kind: 'added' | 'changed' | 'touched';
  /** The items it replaces. */
  old: number[];
  /** For a touched file: the id whose vector it keeps. */
  keep?: number;
}

/**
 * Brings an index up to date with a folder, through the index's own extractor (`cbir sync`, `cbir serve --watch`):
 * files not in the index are embedded and added, files whose content changed are embedded again and their old items
 * removed, items of files gone from the folder are removed. The index's metadata is its manifest: each item's path,
 * size, modification time and SHA-256 (`readImageInfo`); a file whose size and time are as recorded is taken as
 * unchanged without reading it (as rsync does), one whose time changed but not its content keeps its vector. Items
 * whose path is outside the folder are left alone.
 *
 * Safe to kill at any moment: each batch adds its new items before it removes the ones they replace, and a rerun
 * reconciles what it finds (a file held twice keeps the item that matches it), so nothing is lost or held twice
 * once a run completes. New items get new ids (never an old one's).
 *
 * @throws {@link cbir-core!CbirError | CbirError} when the folder cannot be read or holds no images (an index is never
 * emptied by a mistyped path), or the retriever has no embedder.
 * @example
 * ```ts
 * const retriever = await loadRetriever('photos.cbirindex');
 * retriever.embedder = await openQueryEmbedder(retriever);
 * const report = await syncIndex(retriever, 'photos/', {
 *   checkpoint: () => saveRetriever(retriever, 'photos.cbirindex'),
 * });
 * console.log(report.added.length, report.changed.length, report.removed.length);
 * ```
 */
export async function syncIndex(retriever: Retriever, dir: string, options: SyncOptions = {}): Promise<SyncReport> {
  const { signal, onProgress, dryRun = false } = options;
  const batch = options.batch ?? 64;
  if (!Number.isInteger(batch) || batch < 1)
    throw new CbirError('INVALID_ARGUMENT', `syncIndex: batch must be a positive integer, got ${batch}.`);
  const embedder = options.embedder ?? retriever.embedder;
  if (!embedder && !dryRun)
    throw new CbirError(
      'INVALID_ARGUMENT',
      `syncIndex: ${retriever.source} has no query embedder to embed new files with; set retriever.embedder (openQueryEmbedder).`,
    );
  const root = canonicalPath(dir);
  const data = await directoryDataset(resolve(dir), { size: 'original' });
  const index = retriever.index;
  const meta = await readMetadata(index);
  // The index's items by file, inside the folder only.
  const inside = (p: string) => p === root || p.startsWith(root.endsWith(sep) ? root : root + sep);
  const held = new Map<string, number[]>();
  for (const [id, m] of meta) {
    if (m?.path === undefined) continue;
    const p = canonicalPath(m.path);
    if (!inside(p)) continue;
    held.set(p, [...(held.get(p) ?? []), id]);
  }
  const report: SyncReport = {
    added: [],
    changed: [],
    touched: [],
    removed: [],
    failed: [],
    duplicates: 0,
    unchanged: 0,
    size: index.size,
    dryRun,
  };
  const labels = new Map<string, string | undefined>();
  const work: Work[] = [];
  const stale: number[] = []; // extra items of a file held twice
  const seen = new Set<string>();
  for (let i = 0; i < data.size; i++) {
    throwIfAborted(signal, 'syncIndex');
    const path = canonicalPath(data.path(i));
    if (seen.has(path)) continue; // the same file reached twice (through a link)
    seen.add(path);
    labels.set(path, data.entry(i).label);
    const ids = held.get(path) ?? [];
    if ((i + 1) % 256 === 0 || i + 1 === data.size) onProgress?.({ stage: 'sync', done: i + 1, total: data.size });
    if (ids.length === 0) {
      work.push({ path, kind: 'added', old: [] });
      continue;
    }
    const st = await stat(path).catch(() => undefined);
    const mtime = st ? new Date(Math.floor(st.mtimeMs)).toISOString() : undefined;
    // (A file gone since the walk, or an item with no size and time recorded, is never taken as unchanged.)
    const same = st && ids.find((id) => meta.get(id)?.bytes === st.size && meta.get(id)?.mtime === mtime);
    if (same !== undefined) {
      report.unchanged++;
      stale.push(...ids.filter((id) => id !== same));
      continue;
    }
    // Time or size differ (or the item predates the manifest): the content decides.
    const hash = await readWholeFile(path)
      .then((b) => createHash('sha256').update(b).digest('hex'))
      .catch(() => undefined);
    const keep = hash === undefined ? undefined : ids.find((id) => meta.get(id)?.hash === hash);
    work.push({ path, kind: keep === undefined ? 'changed' : 'touched', old: ids, keep });
  }
  report.duplicates = stale.length;
  const gone = [...held].filter(([p]) => !seen.has(p));
  report.removed = gone.map(([p]) => p);
  if (dryRun) {
    for (const w of work) report[w.kind].push(w.path);
    return report;
  }
  const step = async (final: boolean) => {
    report.size = index.size;
    await options.checkpoint?.(final);
  };
  // Leftovers first (they hold no file's only copy), then the folder's changes batch by batch: add, then remove.
  const first = [...stale, ...gone.flatMap(([, ids]) => ids)];
  if (first.length) {
    await retriever.remove(first);
    await step(work.length === 0);
  }
  let next = index.nextId ?? 0;
  for (const id of meta.keys()) if (id >= next) next = id + 1;
  let done = 0;
  for (let b = 0; b < work.length; b += batch) {
    throwIfAborted(signal, 'syncIndex');
    const slice = work.slice(b, b + batch);
    const vectors: Float32Array[] = [];
    const metadata: ItemMetadata[] = [];
    const removeIds: number[] = [];
    const toEmbed = slice.filter((w) => w.kind !== 'touched');
    const settled = toEmbed.length ? await embedder!.embedMany(toEmbed.map((w) => w.path)) : [];
    const infos = await Promise.all(
      slice.map((w) => readImageInfo(w.path).catch((e: Error) => ({ error: e.message }) as const)),
    );
    let e = 0;
    for (let j = 0; j < slice.length; j++) {
      const w = slice[j];
      const info = infos[j];
      const got = w.kind === 'touched' ? undefined : settled[e++];
      let vector: Float32Array | undefined;
      let why: string | undefined;
      if ('error' in info) why = info.error;
      else if (got?.status === 'rejected') why = (got.reason as Error)?.message ?? String(got.reason);
      else if (got) vector = got.value;
      else vector = await index.vector(w.keep!);
      removeIds.push(...w.old);
      if (!vector || 'error' in info) {
        report.failed.push({ path: w.path, reason: why ?? 'its stored vector could not be read' });
        continue;
      }
      vectors.push(vector);
      metadata.push({ ...info, path: w.path, label: labels.get(w.path) });
      report[w.kind].push(w.path);
    }
    if (vectors.length) {
      const data = new Float32Array(vectors.length * index.dim);
      vectors.forEach((v, i) => data.set(v, i * index.dim));
      const ids = vectors.map((_, i) => next + i);
      next += vectors.length;
      await retriever.add({ data, rows: vectors.length, cols: index.dim }, ids, metadata);
    }
    if (removeIds.length) await retriever.remove(removeIds);
    done += slice.length;
    onProgress?.({ stage: 'embed', done, total: work.length });
    if (vectors.length || removeIds.length) await step(b + batch >= work.length);
  }
  report.size = index.size;
  return report;
}
