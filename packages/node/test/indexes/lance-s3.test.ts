import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LanceIndex } from 'cbir-node';
import { randomMatrix } from '../../../core/test/indexes/index-contract.js';

// A LanceDB table on an S3 API: s3rver (npm) on loopback, started and stopped here. Its bucket listing is one LanceDB
// does not read (tableNames() comes back empty), which once made a table built there impossible to open again.
interface S3rverServer {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}
const S3rver = createRequire(import.meta.url)('s3rver') as new (options: Record<string, unknown>) => S3rverServer;

describe('LanceIndex on an S3 API (s3rver on loopback)', () => {
  let dir: string;
  let server: S3rverServer;
  let storageOptions: Record<string, string>;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cbir-s3-'));
    server = new S3rver({
      port: 0,
      address: '127.0.0.1',
      silent: true,
      directory: join(dir, 'store'),
      configureBuckets: [{ name: 'photos' }],
    });
    const { port } = await server.run();
    storageOptions = {
      endpoint: `http://127.0.0.1:${port}`,
      allow_http: 'true',
      region: 'us-east-1',
      aws_access_key_id: 'S3RVER',
      aws_secret_access_key: 'S3RVER',
    };
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a table built on the store opens again from another connection and answers as the local-folder table', async () => {
    const x = randomMatrix(300, 8, 3);
    const q = randomMatrix(5, 8, 4);
    const metadata = Array.from({ length: 300 }, (_, i) => ({ path: `p/${i}.jpg`, label: ['a', 'b'][i % 2] }));
    const s3 = await LanceIndex.create('s3://photos/lib', 8, { storageOptions });
    await s3.add(x, undefined, metadata);
    await s3.close();
    const local = await LanceIndex.create(join(dir, 'local'), 8);
    await local.add(x, undefined, metadata);

    const again = await LanceIndex.open('s3://photos/lib', { storageOptions });
    expect(again.size).toBe(300);
    expect(await again.search(q, 10)).toEqual(await local.search(q, 10));
    expect(await again.searchWhere(q, 10, "label = 'a'")).toEqual(await local.searchWhere(q, 10, "label = 'a'"));
    expect(await again.metadata(7)).toEqual({ path: 'p/7.jpg', label: 'b' });
    await again.close();
    // Built again over it: refused without overwrite, replaced with it.
    await expect(LanceIndex.create('s3://photos/lib', 8, { storageOptions })).rejects.toThrow(/already has a table/);
    const replaced = await LanceIndex.create('s3://photos/lib', 8, { storageOptions, overwrite: true });
    await replaced.add(randomMatrix(3, 8, 5));
    await replaced.close();
    expect((await LanceIndex.open('s3://photos/lib', { storageOptions })).size).toBe(3);
    await expect(LanceIndex.open('s3://photos/other', { storageOptions })).rejects.toThrow(/has no cbir table "cbir"/);
    await local.close();
  });
});
