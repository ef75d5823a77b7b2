import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { deserializeFeatures, loadRetriever } from 'cbir-node';
import { describe, expect, it } from 'vitest';
import { cbir, firstJson, makeImageFolder, root } from './helpers.js';

const run = promisify(execFile);
const json = firstJson;

describe('the model and reducer travel with the features and the index', () => {
  it('a second embed with the same model changes nothing for an index built from the first; another model is refused', async () => {
    const data = await makeImageFolder(3);
    const out = await mkdtemp(join(tmpdir(), 'cbir-pipeline-'));
    const model = join(out, 'model');
    await cbir(
      'train',
      '--data',
      data,
      '--arch',
      'v1',
      '--size',
      '32',
      '--epochs',
      '1',
      '--batch',
      '4',
      '--out',
      model,
      '--json',
    );
    await cbir(
      'embed',
      '--model',
      model,
      '--data',
      data,
      '--out',
      join(out, 'a.cbirfeat'),
      '--reduce',
      'rp:16',
      '--l2',
      '--threads',
      '1',
    );
    const a = deserializeFeatures(new Uint8Array(await readFile(join(out, 'a.cbirfeat'))));
    // The autoencoder as a kind of features: cbir embed is its notebook-shaped name, the same command.
    await cbir(
      'features',
      '--kind',
      'autoencoder',
      '--model',
      model,
      '--data',
      data,
      '--out',
      join(out, 'b.cbirfeat'),
      '--reduce',
      'rp:16',
      '--l2',
      '--threads',
      '1',
    );
    const b = deserializeFeatures(new Uint8Array(await readFile(join(out, 'b.cbirfeat'))));
    expect(b.pipeline).toEqual(a.pipeline);
    expect(Array.from(b.matrix.data)).toEqual(Array.from(a.matrix.data));
    expect(a.pipeline).toMatchObject({
      architecture: 'ConvAutoencoder',
      inputSize: 32,
      reducer: { kind: 'rp', dim: 16, l2: true },
    });
    await cbir('index', '--features', join(out, 'a.cbirfeat'), '--type', 'exact', '--out', join(out, 'a.idx'));
    expect((await loadRetriever(join(out, 'a.idx'))).pipeline).toEqual(a.pipeline);
    const query = join(data, 'green', '0.jpg');
    const search = async () =>
      json(
        (await cbir('search', '--index', join(out, 'a.idx'), '--query', query, '--model', model, '-k', '3', '--json'))
          .stdout,
      ).results;
    const before = await search();
    // The query is an indexed image: embedded as the collection was, it finds itself at distance 0.
    expect(before[0].path).toBe(query);
    expect(before[0].distance).toBeLessThan(1e-3);
    // Another reducer for the same model (this used to overwrite model/reducer.bin, and the search above then
    // embedded its queries with it): the index still answers as before.
    await cbir(
      'embed',
      '--model',
      model,
      '--data',
      data,
      '--out',
      join(out, 'b.cbirfeat'),
      '--reduce',
      'pca:4',
      '--threads',
      '1',
    );
    expect(await search()).toEqual(before);
    // A reader that closes the pipe early ends the output, not the work: exit 0, and the feature file is written.
    const vn = join(root, 'node_modules/.bin/vite-node');
    const piped = await run(
      'bash',
      [
        '-c',
        `set -o pipefail; "${vn}" --config "${join(root, 'vitest.config.ts')}" "${join(root, 'packages/cli/src/main.ts')}" -- embed --model "${model}" --data "${data}" --out "${join(out, 'c.cbirfeat')}" --batch 2 --threads 1 --json | head -1`,
      ],
      { cwd: root },
    );
    expect(JSON.parse(piped.stdout).stage).toBeDefined();
    expect(deserializeFeatures(new Uint8Array(await readFile(join(out, 'c.cbirfeat')))).matrix.rows).toBe(
      a.matrix.rows,
    );
    // A model with other weights is refused, naming both fingerprints.
    const other = join(out, 'other');
    await cbir(
      'train',
      '--data',
      data,
      '--arch',
      'v1',
      '--size',
      '32',
      '--epochs',
      '1',
      '--batch',
      '4',
      '--seed',
      '1',
      '--out',
      other,
      '--json',
    );
    const e = await cbir('search', '--index', join(out, 'a.idx'), '--query', query, '--model', other).catch((x) => x);
    expect(e.code).toBe(1);
    expect(e.stderr).toMatch(
      /is not the model that embedded .*a\.idx: the features were made by weights \S+, the query model's weights are \S+/,
    );
  });
});
