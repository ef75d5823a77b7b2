import { BACKEND_ENV, NODE_BACKENDS } from 'cbir-node';
import { UsageError } from './usage.js';

/** A command's flags, as `parseArgs` takes them. */
export type FlagSpec = Record<
  string,
  { readonly type: 'string' | 'boolean'; readonly short?: string; readonly default?: string | boolean }
>;

/** What a flag does: a sentence, or for a flag with a value, the value's name and the sentence. */
export type FlagMeaning = string | readonly [value: string, meaning: string];

const WIDTH = 120;
const LEFT_MAX = 30;

/**
 * The per-flag list of a command's `--help`, as GNU tools print it: each flag (and its short form), the name of its
 * value, what it does, and its default. `meanings` must name every flag of `options` (TypeScript checks it), so a
 * flag cannot be added without its line.
 */
export function flagList<O extends FlagSpec>(options: O, meanings: { readonly [K in keyof O]: FlagMeaning }): string {
  const rows = Object.keys(options).map((name) => {
    const spec = options[name];
    const m = meanings[name];
    const [value, meaning] = typeof m === 'string' ? ['', m] : m;
    const left = `  ${spec.short ? `-${spec.short}, ` : '    '}--${name}${spec.type === 'string' ? ` ${value || 'VALUE'}` : ''}`;
    const dflt = spec.default === undefined || spec.default === false ? '' : ` (default: ${String(spec.default)})`;
    return [left, `${meaning}${dflt}`] as const;
  });
  const width = Math.min(LEFT_MAX, Math.max(...rows.map(([l]) => l.length)) + 2);
  const out: string[] = ['Options:'];
  for (const [left, text] of rows) {
    const words = text.split(' ');
    let line = left.length >= width ? (out.push(left), ' '.repeat(width)) : left.padEnd(width);
    let fresh = true;
    for (const w of words) {
      if (!fresh && line.length + 1 + w.length > WIDTH) {
        out.push(line);
        line = ' '.repeat(width);
        fresh = true;
      }
      line += (fresh ? '' : ' ') + w;
      fresh = false;
    }
    out.push(line);
  }
  return out.join('\n');
}

/** `--backend`, for the commands that run a network (train, embed, features, serve). */
export const BACKEND_FLAG = { backend: { type: 'string' } } as const;
export const BACKEND_MEANING = {
  backend: [
    'NAME',
    `the tfjs backend: ${NODE_BACKENDS.join(', ')} (default: the first that works, in that order; also ${BACKEND_ENV})`,
  ],
} as const;

/**
 * Makes `--backend NAME` the only backend this process tries: it sets `CBIR_BACKEND`, which every
 * `initNodeBackend()` after it reads, so a command fails with the backend's own reason rather than falling back.
 */
export function applyBackendFlag(value: string | undefined): void {
  if (value === undefined) return;
  if (!(NODE_BACKENDS as readonly string[]).includes(value))
    throw new UsageError(`--backend must be one of ${NODE_BACKENDS.join(', ')}, got "${value}".`);
  process.env[BACKEND_ENV] = value;
}
