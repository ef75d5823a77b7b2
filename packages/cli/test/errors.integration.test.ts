import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cbir, root } from './helpers.js';

const fixtures = join(root, 'packages/core/test/fixtures');

describe('file system errors are one line naming the file, with exit 1', () => {
  it('a missing output folder (ENOENT), a folder where a file should be (EISDIR), a place it may not write (EACCES)', async () => {
    const out = await mkdtemp(join(tmpdir(), 'cbir-errors-'));
    const features = join(fixtures, 'notebook/features.npy');
    for (const [target, pattern] of [
      [
        join(out, 'missing', 'x.idx'),
        /^cbir index: .*missing\/x\.idx: no such file or folder; check the path \(ENOENT\)\.$/,
      ],
      [
        join(out, 'dir.idx'),
        /^cbir index: .*dir\.idx: is a folder where a file was expected; name a file \(EISDIR\)\.$/,
      ],
      // sysfs refuses new files even to root: permission denied (or a read-only file system where /sys is mounted so).
      [
        '/sys/cbir-test.idx',
        /^cbir index: \/sys\/cbir-test\.idx: (permission denied; check its permissions or choose another path \(EACCES\)|the file system is read-only; write to another folder \(EROFS\))\.$/,
      ],
    ] as const) {
      if (target.endsWith('dir.idx')) await mkdir(target);
      const e = await cbir('index', '--features', features, '--type', 'exact', '--out', target).catch((x) => x);
      expect(e.code).toBe(1);
      const lines = e.stderr
        .trim()
        .split('\n')
        .filter((l: string) => !l.startsWith('npm warn'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(pattern);
    }
  });

  it('numeric options are checked before any work, exit 2: --batch 0 (it used to spin for ever), --epochs abc, -k 0', async () => {
    const missing = join(tmpdir(), 'cbir-no-such-folder');
    for (const [args, message] of [
      [
        ['embed', '--model', missing, '--data', missing, '--out', join(missing, 'f'), '--batch', '0'],
        /--batch must be a positive integer, got "0"/,
      ],
      [['train', '--data', missing, '--epochs', 'abc'], /--epochs must be a positive integer, got "abc"/],
      [['search', '--index', missing, '--id', '0', '-k', '0'], /--k must be a positive integer, got "0"/],
    ] as const) {
      const e = await cbir(...args).catch((x) => x);
      expect(e.code, args.join(' ')).toBe(2);
      expect(e.stderr).toMatch(message);
    }
  });
});
