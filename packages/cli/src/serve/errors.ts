import type { FastifyError } from 'fastify';
import { CbirError, ImageDecodeError } from 'cbir-core';

/** The image formats an upload may be in: what sharp decodes from bytes alone (no SVG, which can reference files). */
export const IMAGE_FORMATS = new Set(['jpeg', 'png', 'webp', 'gif', 'tiff', 'heif']);
export const FORMAT_NAMES = 'JPEG, PNG, WebP, GIF, TIFF or AVIF';

/** An error the API reports as `{ error: { code, message } }` with an HTTP status. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The status, code and message an error is answered with (`{ error: { code, message } }`). */
export function describeError(err: FastifyError | ApiError | Error, maxUploadBytes: number): [number, string, string] {
  if (err instanceof ApiError) return [err.statusCode, err.code, err.message];
  if (err instanceof ImageDecodeError)
    return [415, 'UNSUPPORTED_IMAGE', `the upload cannot be decoded as an image: send a ${FORMAT_NAMES} file.`];
  if (err instanceof CbirError) return [400, err.code, err.message];
  const e = err as FastifyError;
  if (e.validation) return [400, 'INVALID_REQUEST', e.message];
  const mb = megabytes(maxUploadBytes);
  if (e.code === 'FST_REQ_FILE_TOO_LARGE' || e.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return [413, 'UPLOAD_TOO_LARGE', `the upload is larger than this server takes (${mb} MB); send a smaller image.`];
  if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || e.code === 'FST_INVALID_MULTIPART_CONTENT_TYPE') {
    return [
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      'send the image as multipart/form-data (field "image") or as the raw body with an image/* content type.',
    ];
  }
  if (e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || e.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH')
    return [400, 'INVALID_REQUEST', e.message];
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500)
    return [e.statusCode, e.code ?? 'INVALID_REQUEST', e.message];
  return [500, 'INTERNAL', 'the server failed on this request; its log says why.'];
}

/** Bytes as megabytes, for messages. */
export function megabytes(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(bytes < 1024 * 1024 ? 2 : 0);
}

/** Answers a request Node's HTTP parser refused, as `{ error: { code, message } }`, and closes the connection. */
export function answerClientError(err: Error & { code?: string }, socket: import('node:net').Socket): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, reason, code, message] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'TOO_MANY_HEADERS', 'the request headers exceed 16 KB.']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'TIMEOUT', 'the request took too long to arrive.']
        : [400, 'Bad Request', 'BAD_REQUEST', `the request is not valid HTTP/1.1 (${err.code ?? 'unparsable'}).`];
  const body = JSON.stringify({ error: { code, message } });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** A client's malformed form as a 4xx: busboy's parse errors are plain Errors, which would read as 500 INTERNAL. */
export function multipartError(e: unknown): Error {
  if (e instanceof ApiError) return e;
  const code = (e as FastifyError)?.code;
  if (code === 'FST_REQ_FILE_TOO_LARGE' || code === 'FST_INVALID_MULTIPART_CONTENT_TYPE') return e as Error;
  if (code === 'FST_FILES_LIMIT')
    return new ApiError(400, 'TOO_MANY_FILES', 'the form has more than one file: send one image per request.');
  if (code === 'FST_PARTS_LIMIT' || code === 'FST_FIELDS_LIMIT')
    return new ApiError(
      400,
      'INVALID_UPLOAD',
      'the form has too many fields: send one file, in a field named "image".',
    );
  const why = String((e as Error)?.message ?? e).slice(0, 200);
  return new ApiError(
    400,
    'INVALID_UPLOAD',
    `the multipart form cannot be read (${why}): send one file in a field named "image", with the boundary named in Content-Type and CRLF line ends, as FormData does.`,
  );
}
