import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { closest } from '../../src/cli/suggest.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../../../', import.meta.url));
const cbir = (...a: string[]) =>
  run(join(root, 'node_modules/.bin/vite-node'), ['--config', join(root, 'vitest.config.ts'), join(root, 'packages/node/src/cli/main.ts'), '--', ...a], { cwd: root }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

describe('the CLI as people expect it', () => {
  it('--version and -V print the package version; a mistyped command or flag gets a suggestion and exit 2', async () => {
    const { version } = JSON.parse(await readFile(join(root, 'packages/node/package.json'), 'utf8'));
    for (const flag of ['--version', '-V']) {
      const r = await cbir(flag);
      expect(r.code).toBe(0);
      expect(r.stdout.trim().split('\n').at(-1)).toBe(`cbir ${version}`);
    }
    const typo = await cbir('serach');
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('unknown command "serach". Did you mean "cbir search"?');
    const flag = await cbir('search', '--indx', 'a.cbirindex', '--id', '1');
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain('unknown option --indx. Did you mean --index?');
    const far = await cbir('search', '--zzzzzz');
    expect(far.code).toBe(2);
    expect(far.stderr).toContain("Unknown option '--zzzzzz'");
  });

  it('closest: near misses (typos, swapped letters) and nothing for a far word', () => {
    const commands = ['search', 'serve', 'index', 'embed', 'eval', 'train'];
    expect(closest('serach', commands)).toBe('search');
    expect(closest('serv', commands)).toBe('serve');
    expect(closest('indx', commands)).toBe('index');
    expect(closest('evla', commands)).toBe('eval');
    expect(closest('quantum', commands)).toBeUndefined();
    expect(closest('--modle', ['--model', '--mode', '--montage'])).toBe('--model');
  });
});
