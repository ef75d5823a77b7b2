import type { FastifyReply, FastifyRequest } from 'fastify';
import sharp from 'sharp';
import { ApiError, FORMAT_NAMES, IMAGE_FORMATS, megabytes, multipartError } from './errors.js';

/** The longest file name a form may give its upload (the name is never used, only bounded). */
const MAX_FILE_NAME = 1024;
/** The most elongated image an upload may be: squaring a 1 x 39,000,000 strip fails in libvips after 25 s. */
const MAX_ASPECT = 32;

/** The uploaded bytes: multipart field `image` (the form's one file), or the raw body. */
export async function uploadOf(req: FastifyRequest): Promise<Uint8Array> {
  if (req.isMultipart()) {
    let bytes: Buffer | undefined;
    try {
      // Every part is read, so a second file is refused rather than dropped in silence.
      for await (const part of req.parts()) {
        if (part.type !== 'file') continue;
        if (part.filename.length > MAX_FILE_NAME)
          throw new ApiError(
            400,
            'INVALID_UPLOAD',
            `the form's file name is ${part.filename.length} characters long; at most ${MAX_FILE_NAME} are accepted.`,
          );
        if (part.fieldname !== 'image')
          throw new ApiError(
            400,
            'NO_IMAGE',
            `the form's file is in field "${part.fieldname.slice(0, 64)}"; send it in a field named "image".`,
          );
        bytes = await part.toBuffer();
      }
    } catch (e) {
      throw multipartError(e);
    }
    if (!bytes) throw new ApiError(400, 'NO_IMAGE', 'the form has no file: send the image in a field named "image".');
    return bytes;
  }
  if (!Buffer.isBuffer(req.body))
    throw new ApiError(
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      `send the image as multipart/form-data (field "image") or as the raw body with an image/* content type.`,
    );
  return req.body;
}

/** Refuses what is not an image sharp decodes, or has more pixels than allowed, from its header alone. */
export async function checkImage(bytes: Uint8Array, maxPixels: number): Promise<void> {
  if (bytes.length === 0)
    throw new ApiError(400, 'EMPTY_UPLOAD', `the upload is empty (0 bytes): send a ${FORMAT_NAMES} image.`);
  let meta: Awaited<ReturnType<ReturnType<typeof sharp>['metadata']>>;
  try {
    meta = await sharp(bytes).metadata();
  } catch {
    throw new ApiError(
      415,
      'UNSUPPORTED_IMAGE',
      `the upload (${bytes.length} bytes) is not an image cbir can read: send a ${FORMAT_NAMES} file.`,
    );
  }
  if (!meta.format || !IMAGE_FORMATS.has(meta.format))
    throw new ApiError(
      415,
      'UNSUPPORTED_IMAGE',
      `the upload is ${meta.format ?? 'of an unknown type'}; send a ${FORMAT_NAMES} file.`,
    );
  const width = meta.width ?? 0;
  const height = meta.pageHeight ?? meta.height ?? 0;
  const pixels = width * height;
  if (pixels > maxPixels) {
    throw new ApiError(
      413,
      'IMAGE_TOO_LARGE',
      `the image is ${width} x ${height} (${(pixels / 1e6).toFixed(1)} megapixels); this server takes at most ${(maxPixels / 1e6).toFixed(1)}. Send a smaller image.`,
    );
  }
  if (width < 1 || height < 1 || Math.max(width, height) > MAX_ASPECT * Math.min(width, height))
    throw new ApiError(
      400,
      'IMAGE_SHAPE',
      `the image is ${width} x ${height}; this server takes images at most ${MAX_ASPECT} times longer than wide (or wide than long). Crop it first.`,
    );
}

/** A query vector with a non-finite value is the model's fault: a 500, never a search. */
export function checkVector(v: Float32Array): Float32Array {
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i]))
      throw new ApiError(
        500,
        'BAD_VECTOR',
        `the query's vector has a non-finite value at ${i}; the model or its reducer is broken.`,
      );
  }
  return v;
}

/**
 * The hook that admits an upload before its body is read: refused at once when its declared length is over the limit
 * or `maxQueue` uploads are already held, so at most `maxQueue` bodies are ever in memory.
 */
export function uploadAdmission(
  hasEmbedder: boolean,
  maxUploadBytes: number,
  maxQueue: number,
): (req: FastifyRequest, reply: FastifyReply) => Promise<void> {
  let uploads = 0;
  return async (req: FastifyRequest, reply: FastifyReply) => {
    if (!hasEmbedder) return; // answered NO_QUERY_MODEL by the handler, before any body is read
    const length = Number(req.headers['content-length']);
    if (length > maxUploadBytes + 64 * 1024)
      throw new ApiError(
        413,
        'UPLOAD_TOO_LARGE',
        `the upload is larger than this server takes (${megabytes(maxUploadBytes)} MB); send a smaller image.`,
      );
    if (uploads >= maxQueue)
      throw new ApiError(
        503,
        'BUSY',
        `${maxQueue} uploads are already being received or embedded; try again in a moment.`,
      );
    uploads++;
    reply.raw.once('close', () => uploads--);
  };
}
