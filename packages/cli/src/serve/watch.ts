import { watch, type FSWatcher } from 'chokidar';
import { CbirError } from 'cbir-core';
import type { SyncReport } from 'cbir-node';

/** How a watched folder is followed: see {@link FolderWatcher}. */
export interface FolderWatchOptions {
  /** The folder. */
  dir: string;
  /** Brings the index up to date with the folder (syncIndex, then whatever the caller refreshes). */
  sync: () => Promise<SyncReport>;
  /** Quiet time after the last file event before a sync starts. @defaultValue 1,000 ms */
  debounceMs?: number;
  /** A full rescan this often, whatever the events said (a safety net for events a file system drops). @defaultValue 300,000 ms */
  rescanMs?: number;
  /** Called after each sync with what it did, or with the error that stopped it (the watcher keeps going). */
  onSync?: (result: { report?: SyncReport; error?: Error }) => void;
}

/** What a {@link FolderWatcher} has done, for `/api/info`. */
export interface WatchStatus {
  dir: string;
  /** Whether a sync is running now. */
  syncing: boolean;
  /** Syncs finished since the server started. */
  syncs: number;
  /** When the last sync finished (ISO 8601), and what it changed or why it failed. */
  last: {
    at: string;
    added: number;
    changed: number;
    touched: number;
    removed: number;
    failed: number;
    error?: string;
  } | null;
}

/**
 * Follows a folder for `cbir serve --watch`: file events (chokidar; writes awaited until the file stops growing) are
 * debounced into one sync, a periodic rescan catches what events missed, one sync runs at a time (events during it
 * schedule one more), and a sync runs at start (what changed while the server was down).
 *
 * @example
 * ```ts
 * const watcher = new FolderWatcher({ dir: 'photos/', sync: () => syncIndex(retriever, 'photos/') });
 * await watcher.start();
 * // ...
 * await watcher.close();
 * ```
 */
export class FolderWatcher {
  private fs?: FSWatcher;
  private timer?: NodeJS.Timeout;
  private rescan?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private closed = false;
  private state: WatchStatus;

  constructor(private readonly options: FolderWatchOptions) {
    const { debounceMs = 1000, rescanMs = 300_000 } = options;
    if (!(debounceMs >= 0) || !(rescanMs > 0))
      throw new CbirError(
        'INVALID_ARGUMENT',
        `FolderWatcher: debounceMs must be >= 0 and rescanMs > 0, got ${debounceMs} and ${rescanMs}.`,
      );
    this.state = { dir: options.dir, syncing: false, syncs: 0, last: null };
  }

  /** Starts watching and runs the first sync; resolves when the watcher is ready and that sync is done. */
  async start(): Promise<void> {
    const fs = watch(this.options.dir, {
      ignoreInitial: true,
      // Hidden files are not images the index holds (the folder walk skips them too).
      ignored: (path) => /(^|[\\/])\.[^\\/]/.test(path.slice(this.options.dir.length)),
      awaitWriteFinish: { stabilityThreshold: 300, pollInterval: 50 },
    });
    this.fs = fs;
    fs.on('all', () => this.schedule());
    fs.on('error', (e) => this.options.onSync?.({ error: e as Error }));
    await new Promise<void>((ready) => fs.once('ready', () => ready()));
    this.rescan = setInterval(() => this.schedule(0), this.options.rescanMs ?? 300_000);
    this.rescan.unref();
    await this.syncNow();
  }

  /** What the watcher has done. */
  status(): WatchStatus {
    return { ...this.state };
  }

  /** A sync after the quiet time (or `delayMs`). */
  schedule(delayMs = this.options.debounceMs ?? 1000): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.syncNow(), delayMs);
    this.timer.unref();
  }

  /** Runs a sync now, or, when one is running, one more after it; resolves when the folder has been synced. */
  async syncNow(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        this.state.syncing = true;
        try {
          const report = await this.options.sync();
          this.state.last = {
            at: new Date().toISOString(),
            added: report.added.length,
            changed: report.changed.length,
            touched: report.touched.length,
            removed: report.removed.length + report.duplicates,
            failed: report.failed.length,
          };
          this.options.onSync?.({ report });
        } catch (e) {
          this.state.last = {
            at: new Date().toISOString(),
            added: 0,
            changed: 0,
            touched: 0,
            removed: 0,
            failed: 0,
            error: (e as Error).message,
          };
          this.options.onSync?.({ error: e as Error });
        } finally {
          this.state.syncing = false;
          this.state.syncs++;
        }
      } while (this.again && !this.closed);
    })();
    try {
      await this.running;
    } finally {
      this.running = undefined;
    }
  }

  /** Stops watching; waits for a sync in progress to finish (it is never cut off half-way). */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    clearInterval(this.rescan);
    await this.fs?.close();
    await this.running;
  }
}
