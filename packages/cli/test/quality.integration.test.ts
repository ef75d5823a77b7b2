import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlockExtractor, createExtractor, extractOne, loadFeatures, loadRetriever, sharpDecoder } from 'cbir-node';
import { describe, expect, it } from 'vitest';
import { cbir, lastJson, makeImageFolder } from './helpers.js';

describe('cbir features --kind fused, index --rerank diffusion, search --query without a model, eval', () => {
  it('extracts, indexes with the graph, and answers a new image exactly as the collection was extracted', async () => {
    const data = await makeImageFolder(5);
    const out = await mkdtemp(join(tmpdir(), 'cbir-quality-'));
    const feats = join(out, 'fused.cbirfeat');
    const f = lastJson(
      (await cbir('features', '--data', data, '--kind', 'fused', '--size', '64', '--out', feats, '--json')).stdout,
    );
    expect(f).toMatchObject({ rows: 15, cols: 1280 + 885 + 90 + 1764, kind: 'fused' });
    const file = await loadFeatures(feats);
    expect(file.extractor?.kind).toBe('fused');

    const idx = join(out, 'fused.cbirindex');
    const built = lastJson(
      (
        await cbir(
          'index',
          '--features',
          feats,
          '--type',
          'cosine',
          '--rerank',
          'diffusion',
          '--rerank-k',
          '4',
          '--out',
          idx,
          '--json',
        )
      ).stdout,
    );
    expect(built).toMatchObject({ size: 15, rerank: 'diffusion' });
    const retriever = await loadRetriever(idx);
    expect(retriever.extractor?.kind).toBe('fused');
    expect(retriever.reranker?.kind).toBe('diffusion');

    // A collection image as a new query: the library's own extraction through the saved spec gives the stored row.
    const query = join(data, 'green', '0.jpg'); // a colour JPEG (the folder's 2.jpg files are grey)
    const fx = await createExtractor(retriever.extractor!);
    const q = await extractOne(fx, await sharpDecoder().decode(query));
    const row = file.ids.indexOf('green/0.jpg');
    expect(Array.from(q)).toEqual(
      Array.from(file.matrix.data.subarray(row * file.matrix.cols, (row + 1) * file.matrix.cols)),
    );
    for (const rerank of ['auto', 'none']) {
      const res = lastJson(
        (await cbir('search', '--index', idx, '--query', query, '-k', '3', '--rerank', rerank, '--json')).stdout,
      );
      expect(res.results).toHaveLength(3);
      expect(res.results[0].path).toBe(query);
      expect(res.results[1].label).toBe('green');
    }
    const byId = lastJson((await cbir('search', '--index', idx, '--id', String(row), '-k', '3', '--json')).stdout);
    expect(byId.results.map((r: { id: number }) => r.id)).not.toContain(row);

    const plain = lastJson((await cbir('eval', '--index', idx, '--rerank', 'none', '--json')).stdout);
    const diffused = lastJson((await cbir('eval', '--index', idx, '--json')).stdout);
    expect(plain.rerank).toBe('none');
    expect(diffused.rerank).toBe('diffusion');
    expect(diffused.precisionAtK[1]).toBeGreaterThan(0.5);

    await expect(cbir('search', '--index', idx, '--query', query, '--model', out)).rejects.toMatchObject({
      stderr: expect.stringContaining('drop --model'),
    });
    await expect(cbir('features', '--data', data, '--kind', 'sift', '--out', feats)).rejects.toMatchObject({
      stderr: expect.stringContaining('--kind must be fused'),
    });
    await expect(
      cbir('features', '--data', data, '--kind', 'fused', '--norm', 'l2', '--out', feats),
    ).rejects.toMatchObject({ stderr: expect.stringContaining('--norm applies to a single block') });
    await expect(cbir('index', '--features', feats, '--rerank', 'graph', '--out', idx)).rejects.toMatchObject({
      stderr: expect.stringContaining('--rerank must be diffusion, qe or none'),
    });
    expect(new BlockExtractor().kind).toBe('fused');
  }, 240_000);
});
