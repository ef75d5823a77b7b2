import { CbirError } from 'cbir-core';

/**
 * A bad or missing command-line argument, found before any work starts: the CLI exits 2 for it (1 is for errors in
 * the input or the files). Its code is `INVALID_ARGUMENT`, as for every argument cbir's functions refuse.
 */
export class UsageError extends CbirError {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
    this.name = 'UsageError';
  }
}
