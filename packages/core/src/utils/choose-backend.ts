import * as tf from '@tensorflow/tfjs-core';
import { BackendUnavailableError } from '../errors.js';

/**
 * Tries backends in the order `prefer` gives, each by its initialiser in `tryers`, and returns the first that works
 * with the reason each one before it was skipped: the loop under `initNodeBackend` and `initBrowserBackend`.
 *
 * @param hint - Appended to the error when none works (how to fix it).
 * @throws {@link BackendUnavailableError} listing every backend tried with its cause.
 *
 * @example
 * ```ts
 * const { name, skipped } = await chooseBackend('initMyBackend', ['wasm', 'cpu'], {
 *   wasm: async () => void (await tf.setBackend('wasm')),
 *   cpu: async () => void (await tf.setBackend('cpu')),
 * });
 * ```
 */
export async function chooseBackend<N extends string>(
  where: string,
  prefer: readonly N[],
  tryers: Record<N, () => Promise<void>>,
  hint = '',
): Promise<{ name: N; skipped: { name: N; reason: string }[] }> {
  const skipped: { name: N; reason: string }[] = [];
  for (const name of prefer) {
    if (!tryers[name]) {
      skipped.push({ name, reason: `unknown backend; valid: ${Object.keys(tryers).join(', ')}` });
      continue;
    }
    try {
      await tryers[name]();
      await tf.ready();
      return { name, skipped };
    } catch (e) {
      skipped.push({ name, reason: e instanceof Error ? e.message.split('\n')[0] : String(e) });
    }
  }
  throw new BackendUnavailableError(
    `${where}: no tfjs backend could be initialised. Tried: ${skipped.map((s) => `${s.name} (${s.reason})`).join('; ')}.${hint ? ` ${hint}` : ''}`,
  );
}
