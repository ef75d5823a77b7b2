import { createServer } from 'node:net';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createIndex, saveIndex } from 'cbir-node';
import { cbirResult } from '../helpers.js';

/** The CLI from source; resolves with the exit code and stderr (it never rejects). */
const cbir = cbirResult;

describe('cbir serve: arguments and the port', () => {
  it('refuses bad arguments before opening anything, and says what to do when the port is taken', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cbir-serve-cli-'));
    const index = createIndex('exact', 4);
    index.add({ data: Float32Array.from({ length: 12 }, (_, i) => i), rows: 3, cols: 4 }, undefined, [
      { label: 'a' },
      { label: 'b' },
      { label: 'a' },
    ]);
    await saveIndex(index, join(dir, 'i.cbirindex'));
    await writeFile(join(dir, 'a.csv'), 'id,label,k2\nx,a,0\n');
    await writeFile(join(dir, 'dups.json'), '{"x": ["y"]}');
    // Bad arguments exit 2; a file that does not fit (1 row for 3 items) or is missing exits 1.
    const cases: [string[], RegExp, number][] = [
      [
        ['--index', join(dir, 'i.cbirindex'), '--port', 'http'],
        /--port must be an integer in 0\.\.65535, got "http"/,
        2,
      ],
      [['--index', join(dir, 'i.cbirindex'), '--port', '70000'], /--port must be an integer/, 2],
      [['--index', join(dir, 'i.cbirindex'), '--token', 'short'], /--token must be at least 8 characters/, 2],
      [['--index', join(dir, 'i.cbirindex'), '--cluster-k', '3'], /--cluster-k goes with --clusters/, 2],
      [['--index', join(dir, 'i.cbirindex'), '--rerank', 'qe'], /--rerank must be auto or none/, 2],
      [
        ['--index', join(dir, 'i.cbirindex'), '--clusters', join(dir, 'a.csv')],
        /assigns 1 items; the index holds 3/,
        1,
      ],
      [
        ['--index', join(dir, 'i.cbirindex'), '--duplicates', join(dir, 'dups.json')],
        /dups\.json: not a cbir duplicate report \(expected \{ format: "cbir-duplicates".*cbir dedup --data DIR --report FILE/,
        1,
      ],
      [['--index', join(dir, 'nope.cbirindex')], /nope\.cbirindex/, 1],
    ];
    for (const [args, message, code] of cases) {
      const r = await cbir('serve', ...args);
      expect(r.code, args.join(' ')).toBe(code);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
    const none = await cbir('serve');
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/an index is required/);
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = (taken.address() as { port: number }).port;
      const r = await cbir('serve', '--index', join(dir, 'i.cbirindex'), '--port', String(port));
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        `127.0.0.1:${port}: the address is in use by another program; choose another --port (0 picks a free one) (EADDRINUSE)`,
      );
    } finally {
      taken.close();
    }
  });
});
