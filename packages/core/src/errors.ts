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
  | 'WEIGHTS_MISMATCH';

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
    this.name = new.target.name;
    this.code = code;
  }
}

/** A vector, matrix or tensor has the wrong shape for the model or index it is given to. */
export class DimensionMismatchError extends CbirError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('DIMENSION_MISMATCH', message, options);
  }
}

/** A learned attribute was read before `fit` was called. */
export class NotFittedError extends CbirError {
  constructor(message: string) {
    super('NOT_FITTED', message);
  }
}

/** No tfjs backend could be initialised. The message lists each backend tried and why it failed. */
export class BackendUnavailableError extends CbirError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BACKEND_UNAVAILABLE', message, options);
  }
}

/** An image could not be decoded. */
export class ImageDecodeError extends CbirError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('IMAGE_DECODE', message, options);
  }
}

/**
 * A file or byte buffer is not in the expected format: wrong magic, unsupported version, truncated,
 * checksum mismatch, or (for PyTorch files) a pickle opcode or zip feature cbir does not read.
 */
export class FormatError extends CbirError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('FORMAT', message, options);
  }
}

/** Index files that fail validation. A {@link FormatError} specialised for indexes. */
export class IndexFormatError extends FormatError {}

/**
 * A weight file does not match the model: missing keys, unexpected keys or shapes that differ.
 * {@link WeightsMismatchError.problems} lists every problem found, not just the first.
 */
export class WeightsMismatchError extends CbirError {
  /** One line per problem, e.g. `missing key "decoder.4.bias"`. */
  readonly problems: readonly string[];

  constructor(message: string, problems: readonly string[]) {
    super('WEIGHTS_MISMATCH', message);
    this.problems = problems;
  }
}
