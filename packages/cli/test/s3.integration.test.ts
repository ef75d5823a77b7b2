import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cbir, cbirArgs, lastJson, makeImageFolder, root, viteNode } from './helpers.js';

// The CLI on an S3 API: s3rver (npm) on loopback, configured with --storage-option or with the standard AWS_*
// variables, as people configure S3 clients.
interface S3rverServer {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}
const S3rver = createRequire(join(root, 'packages/node/package.json'))('s3rver') as new (
  options: Record<string, unknown>,
) => S3rverServer;
const run = promisify(execFile);

describe('cbir on s3:// (s3rver on loopback)', () => {
  let dir: string;
  let server: S3rverServer;
  let port: number;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cbir-s3-cli-'));
    server = new S3rver({
      port: 0,
      address: '127.0.0.1',
      silent: true,
      directory: join(dir, 'store'),
      configureBuckets: [{ name: 'photos' }],
    });
    ({ port } = await server.run());
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('index, search and sync a table on the store answer as the local index file; credentials are never printed', async () => {
    const photos = await makeImageFolder(3);
    const feats = join(dir, 'f.cbirfeat');
    await cbir('features', '--data', photos, '--kind', 'colorhist', '--norm', 'hellinger', '--out', feats);
    await cbir('index', '--features', feats, '--type', 'exact', '--out', join(dir, 'local.idx'));
    const secret = 'not-a-real-secret-1234';
    const options = [
      `endpoint=http://127.0.0.1:${port}`,
      'allow_http=true',
      'region=us-east-1',
      'aws_access_key_id=S3RVER',
      `aws_secret_access_key=${secret}`,
    ].flatMap((o) => ['--storage-option', o]);
    const s3 = ['--engine', 'lancedb', '--uri', 's3://photos/lib'];
    const built = await cbir('index', '--features', feats, ...s3, ...options);
    expect(built.stdout).toMatch(/indexed 9 vectors .* at s3:\/\/photos\/lib/);
    const want = lastJson(
      (await cbir('search', '--index', join(dir, 'local.idx'), '--id', '0', '-k', '5', '--json')).stdout,
    );
    const got = lastJson((await cbir('search', ...s3, ...options, '--id', '0', '-k', '5', '--json')).stdout);
    expect(got.results.map((r: { path: string }) => r.path)).toEqual(want.results.map((r: { path: string }) => r.path));
    // The standard variables instead of flags.
    const env = {
      ...process.env,
      AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`,
      AWS_ALLOW_HTTP: 'true',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: secret,
    };
    const synced = await run(viteNode, cbirArgs('sync', ...s3, '--data', photos, '--json'), { cwd: root, env });
    expect(lastJson(synced.stdout)).toMatchObject({ added: 0, changed: 0, removed: 0, unchanged: 9 });
    for (const out of [built.stdout, built.stderr, synced.stdout, synced.stderr]) expect(out).not.toContain(secret);
    // A wrong endpoint fails with the table named, and without the secret.
    const bad = await run(
      viteNode,
      cbirArgs('search', ...s3, '--id', '0', '--storage-option', 'endpoint=http://127.0.0.1:1', ...options.slice(2)),
      { cwd: root },
    ).catch((e: { code: number; stderr: string }) => e);
    expect((bad as { code: number }).code).toBe(1);
    expect((bad as { stderr: string }).stderr).toMatch(/s3:\/\/photos\/lib/);
    expect((bad as { stderr: string }).stderr).not.toContain(secret);
    const flag = await run(viteNode, cbirArgs('search', ...s3, '--id', '0', '--storage-option', 'novalue'), {
      cwd: root,
    }).catch((e: { stderr: string }) => e);
    expect((flag as { stderr: string }).stderr).toMatch(/--storage-option takes KEY=VALUE/);
    rmSync(photos, { recursive: true, force: true });
  }, 300_000);
});
