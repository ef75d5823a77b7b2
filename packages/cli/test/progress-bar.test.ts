import { describe, expect, it, vi } from 'vitest';
import { progressPrinter } from '../src/progress-bar.js';

/** A terminal that records what is drawn, on a clock the test moves. */
function terminal() {
  const lines: string[] = [];
  let t = 0;
  return {
    out: { isTTY: true, write: (s: string) => void lines.push(s), now: () => t },
    lines,
    tick: (ms: number) => void (t += ms),
  };
}

describe('progressPrinter with --json', () => {
  it('counts epochs from 1, as the text output does; other events pass unchanged', () => {
    const lines: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((s) => (lines.push(String(s)), true));
    const print = progressPrinter(true);
    print({ stage: 'epoch', epoch: 0, epochs: 2, trainLoss: 1, valLoss: 1, best: true, seconds: 1 });
    print({ stage: 'train', epoch: 1, epochs: 2, batch: 0, batches: 3, loss: 1, imagesPerSec: 1 });
    print({ stage: 'embed', done: 4, total: 8 });
    write.mockRestore();
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      { stage: 'epoch', epoch: 1, epochs: 2, trainLoss: 1, valLoss: 1, best: true, seconds: 1 },
      { stage: 'train', epoch: 2, epochs: 2, batch: 0, batches: 3, loss: 1, imagesPerSec: 1 },
      { stage: 'embed', done: 4, total: 8 },
    ]);
  });
});

describe('progressPrinter on a terminal', () => {
  it('training: the ETA covers every remaining batch of the run, from the pace since this run started', () => {
    const { out, lines, tick } = terminal();
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const print = progressPrinter(false, out);
    // A run resumed at epoch 2 of 4 (10 batches each), one second per batch.
    for (let epoch = 1; epoch < 4; epoch++) {
      for (let batch = 0; batch < 10; batch++) {
        tick(1000);
        print({ stage: 'train', epoch, epochs: 4, batch, batches: 10, loss: 0.5, imagesPerSec: 32 });
      }
      print({ stage: 'epoch', epoch, epochs: 4, trainLoss: 0.5, valLoss: 0.4, best: true, seconds: 10 });
    }
    log.mockRestore();
    // The clock starts at the run's first event: no pace yet, then 1 s a batch for the 28 batches left.
    expect(lines.find((l) => l.includes('epoch 2/4') && l.includes('batch 1/10'))).toContain('ETA ?');
    expect(lines.find((l) => l.includes('epoch 2/4') && l.includes('batch 2/10'))).toContain('ETA 28s');
    const middle = lines.find((l) => l.includes('epoch 3/4') && l.includes('batch 5/10'))!;
    expect(middle).toContain('elapsed 14s');
    expect(middle).toContain('ETA 15s');
    expect(lines.filter((l) => l.includes('batch 10/10')).at(-1)).toContain('ETA 0s');
    expect(lines.every((l) => l === '\n' || l.startsWith('\r'))).toBe(true);
  });

  it('embedding: count, rate, elapsed and ETA; redraws at most 10 times a second; the last one always', () => {
    const { out, lines, tick } = terminal();
    const print = progressPrinter(false, out);
    for (let done = 0; done <= 1000; done += 10) {
      tick(20);
      print({ stage: 'embed', done, total: 1000 });
    }
    const drawn = lines.filter((l) => l.startsWith('\r'));
    expect(drawn.length).toBeLessThanOrEqual(Math.ceil((101 * 20) / 100) + 1);
    expect(drawn.at(-1)).toContain('1000/1000');
    expect(drawn.at(-1)).toContain('500.0/s');
    expect(drawn.at(-1)).toContain('ETA 0s');
    expect(lines.at(-1)).toBe('\n');
  });

  it('writes nothing but epochs and warnings when not on a terminal', () => {
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const print = progressPrinter(false, { isTTY: false, write: (s: string) => void lines.push(s) });
    print({ stage: 'train', epoch: 0, epochs: 1, batch: 0, batches: 1, loss: 1, imagesPerSec: 1 });
    print({ stage: 'embed', done: 1, total: 2 });
    print({ stage: 'epoch', epoch: 0, epochs: 1, trainLoss: 1, valLoss: 1, best: true, seconds: 1 });
    expect(lines).toEqual([]);
    expect(log).toHaveBeenCalledWith('epoch 1/1: train loss 1.000000, val loss 1.000000 (best), 1.0 s');
    log.mockRestore();
  });
});
