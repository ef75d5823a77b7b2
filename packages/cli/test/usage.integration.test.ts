import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { closest } from '../src/suggest.js';
import { cbirResult, root } from './helpers.js';

const cbir = cbirResult;

describe('the CLI as people expect it', () => {
  it('--version and -V print the package version; a mistyped command or flag gets a suggestion and exit 2', async () => {
    const { version } = JSON.parse(await readFile(join(root, 'packages/cli/package.json'), 'utf8'));
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

describe("every command's --help", () => {
  it('ends with a per-flag list (flag, value, meaning, default) naming every flag of its usage line', async () => {
    const modules = {
      quickstart: () => import('../src/commands/quickstart.js').then((m) => m.quickstart),
      demo: () => import('../src/commands/demo.js').then((m) => m.demo),
      train: () => import('../src/commands/train.js').then((m) => m.train),
      embed: () => import('../src/commands/embed.js').then((m) => m.embed),
      export: () => import('../src/commands/export.js').then((m) => m.exportCmd),
      index: () => import('../src/commands/index-cmd.js').then((m) => m.indexCmd),
      add: () => import('../src/commands/add.js').then((m) => m.add),
      remove: () => import('../src/commands/remove.js').then((m) => m.remove),
      migrate: () => import('../src/commands/migrate.js').then((m) => m.migrate),
      search: () => import('../src/commands/search.js').then((m) => m.search),
      serve: () => import('../src/commands/serve.js').then((m) => m.serve),
      eval: () => import('../src/commands/eval.js').then((m) => m.evalCmd),
      cluster: () => import('../src/commands/cluster.js').then((m) => m.cluster),
      bow: () => import('../src/commands/bow.js').then((m) => m.bow),
      features: () => import('../src/commands/features.js').then((m) => m.features),
      doctor: () => import('../src/commands/doctor.js').then((m) => m.doctor),
    } as Record<string, () => Promise<(argv: string[]) => Promise<unknown>>>;
    const log = console.log;
    for (const [name, load] of Object.entries(modules)) {
      let text = '';
      console.log = (...a: unknown[]) => void (text += a.join(' ') + '\n');
      try {
        await (
          await load()
        )(['-h']);
      } finally {
        console.log = log;
      }
      const usage = text.slice(0, text.indexOf('\n\n'));
      const options = text.slice(text.lastIndexOf('Options:\n'));
      expect(options.startsWith('Options:'), name).toBe(true);
      const listed = new Set([...options.matchAll(/^ {2}(?:-\w, | {4})--([a-z0-9-]+)/gm)].map((m) => m[1]));
      for (const flag of new Set([...usage.matchAll(/--([a-z][a-z0-9-]*)/g)].map((m) => m[1])))
        expect(listed.has(flag), `${name} --${flag}`).toBe(true);
      expect(listed.has('help'), name).toBe(true);
      for (const line of options.split('\n').slice(1)) expect(line.length, `${name}: ${line}`).toBeLessThanOrEqual(120);
    }
  });
});
