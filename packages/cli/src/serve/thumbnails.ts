import sharp from 'sharp';

/**
 * JPEG thumbnails of indexed files, made with sharp and kept in a cache bounded in bytes (least recently used out
 * first); concurrent requests for the same thumbnail share one decode.
 */
export class ThumbnailCache {
  private readonly cache = new Map<string, Uint8Array>();
  private readonly pending = new Map<string, Promise<Uint8Array>>();
  private bytes = 0;

  constructor(readonly maxBytes: number) {}

  /** Bytes held. */
  get size(): number {
    return this.bytes;
  }

  /** The thumbnail of `path` fitted inside `size` x `size`, from the cache or made now. */
  async get(path: string, size: number): Promise<Uint8Array> {
    const key = `${size}\0${path}`;
    const hit = this.cache.get(key);
    if (hit) {
      this.cache.delete(key); // re-inserted: most recently used last
      this.cache.set(key, hit);
      return hit;
    }
    let job = this.pending.get(key);
    if (!job) {
      job = make(path, size).finally(() => this.pending.delete(key));
      this.pending.set(key, job);
      void job.then(
        (bytes) => this.put(key, bytes),
        () => undefined,
      );
    }
    return job;
  }

  private put(key: string, bytes: Uint8Array): void {
    if (bytes.length > this.maxBytes || this.cache.has(key)) return;
    this.cache.set(key, bytes);
    this.bytes += bytes.length;
    for (const [k, v] of this.cache) {
      if (this.bytes <= this.maxBytes) break;
      this.cache.delete(k);
      this.bytes -= v.length;
    }
  }
}

async function make(path: string, size: number): Promise<Uint8Array> {
  const buf = await sharp(path, { failOn: 'error' })
    .rotate()
    .resize(size, size, { fit: 'inside', withoutEnlargement: true })
    .flatten({ background: '#ffffff' })
    .jpeg({ quality: 82, mozjpeg: true })
    .toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}
