/**
 * Ctrl-C for a long command: the first stops the work at its next boundary (the returned signal aborts, and the work
 * throws `AbortedError` or returns what it has); a second quits at once with 130, as a shell reports SIGINT. Call
 * `dispose()` when the work is over, so a later Ctrl-C is the default again.
 */
export function abortOnCtrlC(boundary: string): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(130);
    console.error(`\nstopping after this ${boundary} (Ctrl-C again to quit now)...`);
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  return { signal: controller.signal, dispose: () => process.off('SIGINT', onSigint) };
}
