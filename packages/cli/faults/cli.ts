// The built CLI as the fault suites run it, and the seeded kill times they use.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../../../', import.meta.url));
export const cli = join(root, 'packages/cli/dist/main.js');

/** What a CLI run printed, how it ended and how long it took. */
export interface Run {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * When to SIGKILL a run: after that many ms, or `after` ms once `when()` first holds (polled every 5 ms), so that a
 * kill lands inside the window that matters (a table created but not yet committed, say) rather than before it.
 */
export type Kill = number | { when: () => boolean; after: number };

/** Runs the built CLI (`pnpm test:faults` builds it first), killed as `kill` says. */
export function cbir(args: string[], kill?: Kill): Promise<Run> {
  return new Promise((resolve) => {
    const t = performance.now();
    const child = spawn(process.execPath, [cli, ...args], { cwd: root });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    let timer: NodeJS.Timeout | undefined;
    if (typeof kill === 'number') timer = setTimeout(() => child.kill('SIGKILL'), kill);
    const poll =
      typeof kill === 'object'
        ? setInterval(() => {
            if (!kill.when()) return;
            clearInterval(poll);
            timer = setTimeout(() => child.kill('SIGKILL'), kill.after);
          }, 5)
        : undefined;
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearInterval(poll);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - t });
    });
  });
}

/** A stream of kill times in [lo, hi) from a seeded generator (no unseeded randomness in the suite). */
export function* killTimes(seed: number, lo: number, hi: number): Generator<number> {
  let s = seed >>> 0;
  for (;;) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    yield lo + (s / 2 ** 32) * (hi - lo);
  }
}
