import type { ProgressEvent } from 'cbir-core';

/** Where the bar goes and the clock it reads (a terminal and Date.now; tests pass their own). */
export interface ProgressOutput {
  isTTY?: boolean;
  write(text: string): unknown;
  now?: () => number;
}

const WIDTH = 24;
/** Redraws per second at most: a bar redrawn on every batch of a fast job would cost more than the job. */
const REDRAWS_PER_SECOND = 10;

function clock(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  return s < 60
    ? `${s}s`
    : s < 3600
      ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
      : `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function bar(done: number, total: number): string {
  const filled = Math.min(WIDTH, Math.round((done / total) * WIDTH));
  return `[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}]`;
}

/**
 * Renders progress events: JSON lines on stdout with `json` (epochs counted from 1, as the text counts them); on a terminal, one redrawn line per long stage with the
 * count, the rate, the time elapsed and an ETA for the whole run (training: every remaining batch of every remaining
 * epoch, from the run's own pace, so a resumed run is timed from where it resumed); plain lines otherwise (epochs and
 * warnings only: nothing is redrawn into a log file).
 */
export function progressPrinter(
  json: boolean,
  out: ProgressOutput = process.stderr,
): (e: ProgressEvent | Record<string, unknown>) => void {
  const tty = Boolean(out.isTTY) && !json;
  const now = out.now ?? Date.now;
  let run: { start: number; from: number } | undefined;
  const stages = new Map<string, { start: number; from: number }>();
  let lastDraw = 0;
  let drawn = false;
  const draw = (line: string, force: boolean) => {
    const t = now();
    if (!force && t - lastDraw < 1000 / REDRAWS_PER_SECOND) return;
    lastDraw = t;
    drawn = true;
    out.write(`\r${line}   `);
  };
  const endLine = () => {
    if (drawn) out.write('\n');
    drawn = false;
  };
  return (e) => {
    if (json) {
      // Epochs counted from 1 in JSON too, as the text output counts them (the library's events count from 0).
      const ev = e as { stage?: string; epoch?: number };
      const out =
        (ev.stage === 'train' || ev.stage === 'epoch') && typeof ev.epoch === 'number'
          ? { ...e, epoch: ev.epoch + 1 }
          : e;
      return void process.stdout.write(`${JSON.stringify(out)}\n`);
    }
    const ev = e as ProgressEvent;
    if (ev.stage === 'train') {
      if (!tty) return;
      const index = ev.epoch * ev.batches + ev.batch + 1;
      // The clock starts at the first event: the time before it (loading, the first batch) is not a batch pace.
      run ??= { start: now(), from: index };
      const total = ev.epochs * ev.batches;
      const elapsed = (now() - run.start) / 1000;
      const eta = ((total - index) * elapsed) / Math.max(1, index - run.from);
      draw(
        `epoch ${ev.epoch + 1}/${ev.epochs} ${bar(ev.batch + 1, ev.batches)} batch ${ev.batch + 1}/${ev.batches} ${ev.imagesPerSec.toFixed(1)} img/s ` +
          `loss ${ev.loss.toFixed(5)} elapsed ${clock(elapsed)} ETA ${index - run.from > 0 ? clock(eta) : '?'}`,
        ev.batch + 1 === ev.batches,
      );
    } else if (ev.stage === 'epoch') {
      endLine();
      console.log(
        `epoch ${ev.epoch + 1}/${ev.epochs}: train loss ${ev.trainLoss.toFixed(6)}, val loss ${ev.valLoss.toFixed(6)}${ev.best ? ' (best)' : ''}, ${ev.seconds.toFixed(1)} s`,
      );
    } else if (
      ev.stage === 'embed' ||
      ev.stage === 'load' ||
      ev.stage === 'index' ||
      ev.stage === 'metadata' ||
      ev.stage === 'sync'
    ) {
      if (!tty) return;
      let s = stages.get(ev.stage);
      if (!s || ev.done < s.from) stages.set(ev.stage, (s = { start: now(), from: ev.done }));
      const elapsed = (now() - s.start) / 1000;
      const rate = (ev.done - s.from) / Math.max(1e-3, elapsed);
      const verb = {
        embed: 'embedded',
        load: 'loaded',
        index: 'indexed',
        metadata: 'read the metadata of',
        sync: 'checked',
      }[ev.stage];
      const total = ev.total;
      const finished = total !== undefined && ev.done >= total;
      draw(
        `${verb} ${total === undefined ? ev.done : `${bar(ev.done, total)} ${ev.done}/${total}`} ${rate.toFixed(1)}/s elapsed ${clock(elapsed)}` +
          `${total === undefined ? '' : ` ETA ${ev.done > s.from ? clock((total - ev.done) / rate) : '?'}`}`,
        finished,
      );
      if (finished) endLine();
    } else if (ev.stage === 'kmeans') {
      if (tty) draw(`k-means iteration ${ev.iteration}: inertia ${ev.inertia.toPrecision(6)}`, false);
    } else if (ev.stage === 'warning') {
      endLine();
      console.error(`warning: ${ev.message}`);
    }
  };
}
