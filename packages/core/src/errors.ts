/**
 * Machine-readable error codes. Every error cbir throws is a {@link CbirError} with one of these codes.
 */
export type CbirErrorCode =
  | 'INVALID_ARGUMENT'
  | 'DIMENSION_MISMATCH'
  | 'NOT_FITTED'
  | 'BACKEND_UNAVAILABLE'
  | 'IMAGE_DECODE'
  | 'FORMAT'
  | 'WEIGHTS_MISMATCH'
  | 'NON_FINITE'
  | 'ABORTED'
  | 'WORKER_FAILED';

/**
 * Base class of every error cbir throws. Messages read *where: what (expected X, got Y). How to fix.*
 *
 * @example
 * ```ts
 * try { new ConvAutoencoderV2({ inputSize: 100 }); }
 * catch (e) { if (e instanceof CbirError) console.log(e.code); } // 'INVALID_ARGUMENT'
 * ```
 */
export class CbirError extends Error {
  /** A stable code to branch on, independent of the message text. */
  readonly code: CbirErrorCode;

  constructor(code: CbirErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    // Each class names itself literally: `new.target.name` would be a minifier's `_e` in a bundled app.
    this.name = 'CbirError';
    this.code = code;
  }
}

/**
 * A vector, matrix or tensor has the wrong shape for the model or index it is given to.
 *
 * @example
 * ```ts
 * try { index.search(queries, 10); }
 * catch (e) { if (e instanceof DimensionMismatchError) console.error('embed queries with the same model and reducer'); }
 * ```
 */
export class DimensionMismatchError extends CbirError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('DIMENSION_MISMATCH', message, options);
    this.name = 'DimensionMismatchError';
  }
}

/**
 * A learned attribute was read before `fit` was called.
 *
 * @example
 * ```ts
 * const km = new KMeans({ nClusters: 3 });
 * try { km.labels; } catch (e) { console.log(e instanceof NotFittedError); } // true: call fit(x) first
 * ```
 */
export class NotFittedError extends CbirError {
  constructor(message: string) {
    super('NOT_FITTED', message);
    this.name = 'NotFittedError';
  }
}

/**
 * No tfjs backend could be initialised. The message lists each backend tried and why it failed.
 *
 * @example
 * ```ts
 * try { await initNodeBackend({ prefer: ['tensorflow'] }); }
 * catch (e) { if (e instanceof BackendUnavailableError) console.error(e.message); } // lists each backend tried
 * ```
 */
export class BackendUnavailableError extends CbirError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BACKEND_UNAVAILABLE', message, options);
    this.name = 'BackendUnavailableError';
  }
}

/**
 * An image could not be decoded.
 *
 * @example
 * ```ts
 * try { await decoder.decode('broken.jpg'); }
 * catch (e) { if (e instanceof ImageDecodeError) console.warn('skipping', e.message); }
 * ```
 */
export class ImageDecodeError extends CbirError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('IMAGE_DECODE', message, options);
    this.name = 'ImageDecodeError';
  }
}

/**
 * A file or byte buffer is not in the expected format: wrong magic, unsupported version, truncated,
 * checksum mismatch, or (for PyTorch files) a pickle opcode or zip feature cbir does not read.
 *
 * @example
 * ```ts
 * try { deserializeIndex(bytes, 'photos.cbirindex'); }
 * catch (e) { if (e instanceof FormatError) console.error(e.message); } // names the file and what is wrong
 * ```
 */
export class FormatError extends CbirError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('FORMAT', message, options);
    this.name = 'FormatError';
  }
}

/**
 * Index files that fail validation. A {@link FormatError} specialised for indexes.
 *
 * @example
 * ```ts
 * try { await loadIndex('photos.cbirindex'); }
 * catch (e) { if (e instanceof IndexFormatError) console.error('rebuild it with cbir index:', e.message); }
 * ```
 */
export class IndexFormatError extends FormatError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'IndexFormatError';
  }
}

/**
 * A weight file does not match the model: missing keys, unexpected keys or shapes that differ.
 * {@link WeightsMismatchError.problems} lists every problem found, not just the first.
 *
 * @example
 * ```ts
 * try { loadTorchWeights(ae, bytes); }
 * catch (e) { if (e instanceof WeightsMismatchError) console.error(e.problems.join('\n')); } // one line per key
 * ```
 */
export class WeightsMismatchError extends CbirError {
  /** One line per problem, e.g. `missing key "decoder.4.bias"`. */
  readonly problems: readonly string[];

  constructor(message: string, problems: readonly string[]) {
    super('WEIGHTS_MISMATCH', message);
    this.name = 'WeightsMismatchError';
    this.problems = problems;
  }
}

/**
 * A computation produced NaN or an infinity (a training loss, an embedding) where a number was needed. The message
 * says where it came from (the epoch and batch, the image) and what to try.
 *
 * @example
 * ```ts
 * try { await trainAutoencoder(ae, data, { lr: 10 }); }
 * catch (e) { if (e instanceof NonFiniteError) console.error(e.message); } // 'trainAutoencoder: the training loss is NaN at epoch 0, batch 3 ...'
 * ```
 */
export class NonFiniteError extends CbirError {
  constructor(message: string) {
    super('NON_FINITE', message);
    this.name = 'NonFiniteError';
  }
}

/**
 * A long operation stopped by its `AbortSignal`: the one way every cancellable operation of cbir ends early
 * (training, embedding, feature extraction, clustering, elbow runs, bags of visual words, re-ranker graphs). Its code
 * is `ABORTED` and its cause the signal's `reason`. Where the operation has something to give back, `partial` holds
 * it: `trainAutoencoder` puts its {@link cbir-core!TrainResult | TrainResult} there, with the checkpoint to resume from.
 *
 * @example
 * ```ts
 * try { await trainAutoencoder(model, data, { epochs: 30, signal }); }
 * catch (e) {
 *   if (!(e instanceof AbortedError)) throw e;
 *   const { checkpoint } = e.partial as TrainResult;   // resume later with { resume: checkpoint }
 * }
 * ```
 */
export class AbortedError<T = unknown> extends CbirError {
  /** What was done before the signal fired, for operations that return something (else undefined). */
  readonly partial: T | undefined;

  constructor(message: string, options?: { cause?: unknown; partial?: T }) {
    super('ABORTED', message, options);
    this.name = 'AbortedError';
    this.partial = options?.partial;
  }
}

/**
 * Throws an {@link AbortedError} (code `ABORTED`) when `signal` has fired: how every long operation of cbir checks
 * its signal between steps. `signal.reason` is the error's cause.
 *
 * @example
 * ```ts
 * for (const batch of batches) { throwIfAborted(signal, 'myLoop'); work(batch); }
 * ```
 */
export function throwIfAborted(signal: AbortSignal | undefined, where: string): void {
  if (signal?.aborted) throw new AbortedError(`${where}: stopped by its signal.`, { cause: signal.reason });
}
