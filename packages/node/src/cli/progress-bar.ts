import type { ProgressEvent } from 'cbir-core';

/** Renders progress events: a one-line bar on a terminal, JSON lines with `json`, plain lines otherwise. */
export function progressPrinter(json: boolean): (e: ProgressEvent | Record<string, unknown>) => void {
  const tty = process.stderr.isTTY && !json;
  let epochStarted = Date.now();
  return (e) => {
    if (json) return void process.stdout.write(`${JSON.stringify(e)}\n`);
    const ev = e as ProgressEvent;
    if (ev.stage === 'train' && tty) {
      if (ev.batch === 0) epochStarted = Date.now();
      const done = ev.batch + 1;
      const width = 24;
      const filled = Math.round((done / ev.batches) * width);
      const eta = ((ev.batches - done) * (Date.now() - epochStarted)) / Math.max(1, done) / 1000;
      process.stderr.write(`\repoch ${ev.epoch + 1}/${ev.epochs} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${ev.batches} ` +
        `${ev.imagesPerSec.toFixed(1)} img/s loss ${ev.loss.toFixed(5)} ETA ${eta.toFixed(0)}s   `);
    } else if (ev.stage === 'epoch') {
      if (tty) process.stderr.write('\n');
      console.log(`epoch ${ev.epoch + 1}/${ev.epochs}: train loss ${ev.trainLoss.toFixed(6)}, val loss ${ev.valLoss.toFixed(6)}${ev.best ? ' (best)' : ''}, ${ev.seconds.toFixed(1)} s`);
    } else if (ev.stage === 'embed' && tty) {
      process.stderr.write(`\rembedded ${ev.done}/${ev.total ?? '?'}   `);
    } else if (ev.stage === 'warning') {
      if (tty) process.stderr.write('\n');
      console.error(`warning: ${ev.message}`);
    }
  };
}
