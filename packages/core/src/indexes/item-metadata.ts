import { CbirError } from '../errors.js';

/**
 * What cbir reads of an image file besides its pixels, while extracting its features (cbir-node's `readImageInfo`):
 * kept with the item in every index kind, returned with results, and filterable (`width >= 1024`,
 * `taken BETWEEN '2024-06-01' AND '2024-09-01'`, `make = 'Canon'`). Each field is absent when it is not known.
 */
export interface ImageInfo {
  /** Pixel width as stored (before any EXIF rotation); absent when unknown. */
  width?: number;
  /** Pixel height as stored; absent when unknown. */
  height?: number;
  /** File size in bytes; absent when unknown. */
  bytes?: number;
  /** The file's modification time, an ISO 8601 instant (`2024-06-01T12:00:00.000Z`); absent when unknown. */
  mtime?: string;
  /** SHA-256 of the file's bytes, 64 lowercase hex digits (what `cbir sync` compares); absent when unknown. */
  hash?: string;
  /**
   * When the photo was taken (EXIF DateTimeOriginal, else DateTimeDigitized), as an ISO 8601 instant. EXIF gives no
   * time zone: the camera's wall-clock time is recorded as if it were UTC. Absent without EXIF dates.
   */
  taken?: string;
  /** The camera's maker (EXIF Make), trimmed; absent without it. */
  make?: string;
  /** The camera's model (EXIF Model), trimmed; absent without it. */
  model?: string;
  /** EXIF Orientation, 1 to 8 (1: as stored); absent when the file does not say. */
  orientation?: number;
  /** Whether the file's EXIF records where it was taken (GPS latitude and longitude); absent without EXIF. */
  gps?: boolean;
}

/** Optional information kept with an id: where the image came from, its class, and what was read of its file. */
export interface ItemMetadata extends ImageInfo {
  /** The image's file path (or URL), as given when it was added; absent when none was given. */
  path?: string;
  /** Its class label (the sub-folder's name, say); absent when none was given. */
  label?: string;
}

/** A metadata field's type: dates are ISO 8601 strings. */
export type MetadataFieldType = 'string' | 'number' | 'boolean' | 'date';

/**
 * Every {@link ItemMetadata} field with its type, in the order LanceDB's columns take: the one list that index files,
 * LanceDB tables, `where` filters (`ITEM_COLUMNS`) and the search page read.
 */
export const ITEM_METADATA_FIELDS: Readonly<Record<keyof ItemMetadata, MetadataFieldType>> = Object.freeze({
  path: 'string',
  label: 'string',
  width: 'number',
  height: 'number',
  bytes: 'number',
  mtime: 'date',
  hash: 'string',
  taken: 'date',
  make: 'string',
  model: 'string',
  orientation: 'number',
  gps: 'boolean',
});

/** The longest text a metadata field may hold (a path, a camera model), in characters. */
export const MAX_METADATA_TEXT = 4096;

/**
 * Checks one item's metadata as read from a file or a table: `null` or `undefined` is none; otherwise an object whose
 * {@link ITEM_METADATA_FIELDS} have their types (dates exactly as `Date.toISOString` writes them, numbers finite,
 * texts at most {@link MAX_METADATA_TEXT} characters); `null` fields are left out, and so are keys cbir does not know (a later
 * release's).
 *
 * @throws {@link CbirError} INVALID_ARGUMENT naming `where` and the field (readers of files re-throw it as their format
 * error).
 * @example
 * ```ts
 * const m = checkItemMetadata(JSON.parse(text), 'photos.cbirindex item 12');   // { path, label, width, ... }
 * ```
 */
export function checkItemMetadata(value: unknown, where: string): ItemMetadata | undefined {
  if (value == null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value))
    throw new CbirError(
      'INVALID_ARGUMENT',
      `${where}: metadata must be an object or null, got ${JSON.stringify(value)}.`,
    );
  const out: Record<string, unknown> = {};
  for (const [key, type] of Object.entries(ITEM_METADATA_FIELDS)) {
    const v = (value as Record<string, unknown>)[key];
    if (v == null) continue;
    const ok =
      type === 'number'
        ? typeof v === 'number' && Number.isFinite(v)
        : type === 'boolean'
          ? typeof v === 'boolean'
          : typeof v === 'string' && v.length <= MAX_METADATA_TEXT && (type !== 'date' || isCanonicalInstant(v));
    if (!ok)
      throw new CbirError(
        'INVALID_ARGUMENT',
        `${where}: metadata field "${key}" must be ${type === 'date' ? 'a UTC ISO 8601 instant as Date.toISOString writes it (2024-06-01T12:00:00.000Z)' : type === 'string' ? `a string of at most ${MAX_METADATA_TEXT} characters` : `a ${type === 'number' ? 'finite number' : type}`}, got ${JSON.stringify(v).slice(0, 80)}.`,
      );
    out[key] = v;
  }
  return Object.keys(out).length ? (out as ItemMetadata) : undefined;
}

/** Whether `v` is an instant exactly as `Date.toISOString` writes it (no rolled-over days, no other forms). */
function isCanonicalInstant(v: string): boolean {
  const ms = Date.parse(v);
  return v.length === 24 && !Number.isNaN(ms) && new Date(ms).toISOString() === v;
}
