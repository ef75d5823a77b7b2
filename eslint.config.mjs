// ESLint (flat config) with typescript-eslint's recommended rules, and the rule that keeps cbir-core platform-free:
// its sources import only tfjs-core, tfjs-layers, ndarray, fflate and themselves, and use no Node or DOM global.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const CORE_IMPORTS = ['@tensorflow/tfjs-core', '@tensorflow/tfjs-layers', 'ndarray', 'fflate'];

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/dist-demo/**',
      '**/node_modules/**',
      'docs/api/**',
      'cbir-report/**',
      'cbir-demo/**',
      'e2e-output/**',
      'examples-out/**',
      '.cache/**',
      '.gpucheck/**',
      '**/simd-binary.ts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: 'module' },
    rules: {
      // The codebase's choices, on purpose: `any` at tfjs's untyped seams, `!` after checks TypeScript cannot follow,
      // and `_`-prefixed names for parameters a signature needs.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      // Comma sequences as statements (two updates in a one-line branch of a hot loop) are an idiom here; TypeScript
      // already refuses a comma whose left side has no effect (TS2695).
      '@typescript-eslint/no-unused-expressions': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // Plain JavaScript runs on Node (scripts, workers, examples); the check scripts also hand functions to a page.
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
  },
  {
    // cbir-core: no Node or DOM API (the package runs in browsers, Node, Deno, workers).
    files: ['packages/core/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: `^(?!\\.|${CORE_IMPORTS.map((m) => m.replaceAll('.', '\\.')).join('$|')}$)`,
              message: `cbir-core imports only ${CORE_IMPORTS.join(', ')} and its own modules: platform code goes in cbir-node or cbir-browser.`,
            },
          ],
        },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: 'ImportExpression',
          message: 'cbir-core loads no module at run time: platform code goes in cbir-node or cbir-browser.',
        },
      ],
      'no-restricted-globals': [
        'error',
        ...[
          'process',
          'Buffer',
          'require',
          '__dirname',
          '__filename',
          'window',
          'document',
          'navigator',
          'localStorage',
          'indexedDB',
          'fetch',
        ].map((name) => ({
          name,
          message:
            'cbir-core uses no Node or DOM global: take what you need as an argument, or put the code in cbir-node or cbir-browser.',
        })),
      ],
    },
  },
);
