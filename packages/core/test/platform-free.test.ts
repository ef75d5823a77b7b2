import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('../src', import.meta.url));
const files = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));

describe('cbir-core stays platform-free', () => {
  it('imports only tfjs-core, tfjs-layers, ndarray, fflate and its own modules (no backend, no node:, no DOM)', () => {
    const allowed = new Set(['@tensorflow/tfjs-core', '@tensorflow/tfjs-layers', 'ndarray', 'fflate']);
    const bad: string[] = [];
    for (const f of files(src)) {
      const code = readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, ''); // TSDoc examples may import anything
      for (const m of code.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)) {
        if (!m[1].startsWith('.') && !allowed.has(m[1])) bad.push(`${f}: ${m[1]}`);
      }
    }
    expect(files(src).length).toBeGreaterThan(5);
    expect(bad).toEqual([]);
  });
});
