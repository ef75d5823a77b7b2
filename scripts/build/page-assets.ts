// The search page's files as strings inside cbir-node's JS: `import html from './index.html?raw'` (the file's text)
// and `import js from './app.ts?bundle'` (the TypeScript bundled for the browser by esbuild, minified). The server
// then answers from memory: no static-file plugin, no folder next to the bundle to find, and no request path ever
// touches the file system. One esbuild call serves tsup (an esbuild plugin) and vitest/vite-node (a vite plugin).
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { build, type Plugin as EsbuildPlugin } from 'esbuild';

/** The browser bundle of one TypeScript entry: an IIFE, ES2020, minified, no source map. */
export async function bundleForBrowser(file: string): Promise<string> {
  const out = await build({
    entryPoints: [file],
    bundle: true,
    write: false,
    format: 'iife',
    target: 'es2020',
    platform: 'browser',
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
  });
  return out.outputFiles[0].text;
}

const ASSET = /\?(raw|bundle)$/;

async function load(path: string): Promise<string> {
  const [file, kind] = path.split('?');
  const text = kind === 'raw' ? await readFile(file, 'utf8') : await bundleForBrowser(file);
  return `export default ${JSON.stringify(text)};`;
}

/** For tsup's `esbuildPlugins`. */
export const pageAssetsEsbuild: EsbuildPlugin = {
  name: 'cbir-page-assets',
  setup(b) {
    b.onResolve({ filter: ASSET }, (args) => ({
      path: resolve(args.resolveDir, args.path),
      namespace: 'cbir-page-asset',
    }));
    b.onLoad({ filter: /.*/, namespace: 'cbir-page-asset' }, async (args) => ({
      contents: await load(args.path),
      loader: 'js',
      watchFiles: [args.path.split('?')[0]],
    }));
  },
};

/** For vitest and vite-node (vite reads `?raw` itself; `?bundle` is ours). */
export function pageAssetsVite(): { name: string; enforce: 'pre'; load(id: string): Promise<string | undefined> } {
  return {
    name: 'cbir-page-assets',
    enforce: 'pre',
    async load(id) {
      return id.endsWith('?bundle') ? load(id) : undefined;
    },
  };
}
