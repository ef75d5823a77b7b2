import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export { makeImageFolder } from '../../node/test/helpers.js';

const run = promisify(execFile);

/** The repository's root. */
export const root = fileURLToPath(new URL('../../../', import.meta.url));
/** vite-node, which runs the command from its sources: the integration tests need no build. */
export const viteNode = join(root, 'node_modules/.bin/vite-node');

/** vite-node's arguments for `cbir ...a` from the sources (the packages resolved as the unit suite resolves them). */
export function cbirArgs(...a: string[]): string[] {
  return ['--config', join(root, 'vitest.config.ts'), join(root, 'packages/cli/src/main.ts'), '--', ...a];
}

/** Runs `cbir ...a`; rejects, with `code`, `stdout` and `stderr`, when it exits non-zero. */
export function cbir(...a: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(viteNode, cbirArgs(...a), { cwd: root, maxBuffer: 1 << 26 });
}

/** Runs `cbir ...a` and resolves with its exit code and output, whatever the code. */
export function cbirResult(...a: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return cbir(...a).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
}

/** The first line of `stdout` that is a JSON object (a command's --json report), parsed. */
export function firstJson(stdout: string): any {
  return JSON.parse(stdout.split('\n').find((l) => l.startsWith('{'))!);
}

/** The last line of `stdout` that is a JSON object (the final report after progress lines), parsed. */
export function lastJson(stdout: string): any {
  return JSON.parse(
    stdout
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .at(-1)!,
  );
}
