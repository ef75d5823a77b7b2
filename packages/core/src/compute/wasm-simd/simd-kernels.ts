import { assertStructLayouts, structLayout, type KernelStructName, type KernelStructValues } from './kernel-structs.js';
import {
  SIMD_RELAXED_WASM_BASE64,
  SIMD_SHARED_RELAXED_WASM_BASE64,
  SIMD_SHARED_WASM_BASE64,
  SIMD_WASM_BASE64,
} from './simd-binary.js';

/** The exports of kernels.c (pointers are byte offsets into the instance's memory). */
interface KernelExports {
  __heap_base: { value: number };
  sqdist_f64(x: number, n: number, p: number, m: number, d: number, out: number): void;
  nearest_f64(x: number, n: number, p: number, m: number, d: number, labels: number, dist2: number): void;
  sqdist_rows_f64(x: number, idx: number, n: number, q: number, d: number, out: number): void;
  first_nonfinite_f32(x: number, n: number, base: number): number;
  gather_rows_f32(src: number, idx: number, n: number, d: number, dst: number): void;
  inertia_f64(x: number, n: number, d: number, labels: number, centres: number): number;
  column_sums_f64(x: number, n: number, d: number, sums: number): void;
  centre_f32(x: number, n: number, d: number, mean: number, dst: number, norms: number): void;
  centre_update_f64(
    x: number,
    idx: number,
    n: number,
    d: number,
    labels: number,
    k: number,
    centres: number,
    counts: number,
    hits: number,
  ): void;
  argmin_dots(dots: number, n: number, m: number, pn: number, labels: number, vals: number): void;
  cluster_sums_f64(x: number, n: number, d: number, labels: number, sums: number): void;
  dots_f32(x: number, n: number, q: number, nq: number, d: number, out: number): void;
  conv2d_nhwc(params: number, r0: number, r1: number): void;
  conv_filter_grad(params: number, r0: number, r1: number): void;
  conv3x3_winograd(params: number, r0: number, r1: number, part: number): void;
  conv3x3_winograd_grad(params: number, r0: number, r1: number, part: number): void;
  diffusion_cg(params: number, j0: number, j1: number): number;
  quantize_i16(x: number, n: number, d: number, mean: number, dp: number, out: number, scale: number, l1: number): void;
  scan_i16(...args: number[]): number;
  relu_grad_f32(dy: number, x: number, n: number, out: number): void;
  sqdist_pairs_f64(x: number, idx: number, n: number, q: number, qi: number, d: number, out: number): void;
  wino_filter(f: number, ci: number, co: number, u: number, c0: number, c1: number): void;
  wino_filter_grad(
    du: number,
    parts: number,
    duDoubles: number,
    ci: number,
    co: number,
    dw: number,
    c0: number,
    c1: number,
  ): void;
  select_below_f64(
    dots: number,
    n: number,
    t: number,
    norms: number,
    thr: number,
    candR: number,
    candQ: number,
    candV: number,
  ): number;
  layout_Conv(out: number): void;
  layout_ConvGrad(out: number): void;
  layout_Wino(out: number): void;
  layout_WinoGrad(out: number): void;
  layout_Diffusion(out: number): void;
}

const PAGE = 65536;
/** wasm32's addressable bytes (4 GiB) less one page. */
const MAX_BYTES = 65535 * PAGE;

/** The kernels a {@link SimdThreadPool} may be asked to run, by index (a pool's workers read the same list). */
export const SIMD_KERNEL_NAMES = [
  'dots_f32',
  'nearest_f64',
  'sqdist_f64',
  'centre_f32',
  'inertia_f64',
  'first_nonfinite_f32',
  'gather_rows_f32',
  'sqdist_rows_f64',
  'conv2d_nhwc',
  'conv_filter_grad',
  'conv3x3_winograd',
  'conv3x3_winograd_grad',
  'diffusion_cg',
  'select_below_f64',
  'quantize_i16',
  'scan_i16',
  'relu_grad_f32',
  'column_sums_f64',
  'sqdist_pairs_f64',
  'wino_filter',
  'wino_filter_grad',
] as const;
/** One of {@link SIMD_KERNEL_NAMES}. */
export type SimdKernelName = (typeof SIMD_KERNEL_NAMES)[number];

/**
 * Threads that run cbir's SIMD kernels in parallel on one shared memory, synchronously: the caller starts the
 * workers' shares, computes its own, then blocks until theirs are done. cbir-node provides one on worker_threads
 * (`initNodeBackend({ threads })`); browsers cannot block their main thread, so there the kernels run on one thread.
 */
export interface SimdThreadPool {
  /** Worker threads (the calling thread computes a share too). */
  readonly workers: number;
  /**
   * Instantiates `module` (a `WebAssembly.Module` of the kernels) on `memory` (a shared `WebAssembly.Memory`) in
   * every worker, synchronously; returns the handle `start` takes.
   */
  attach(module: object, memory: object): number;
  /** Lets the workers forget a handle (its memory can then be collected); a no-op once the pool is closed. */
  detach(handle: number): void;
  /** Starts kernel `name` on worker `w` with `args[w]` (one list per worker); returns at once. */
  start(handle: number, name: SimdKernelName, args: number[][]): void;
  /** Blocks until the calls of the last `start` are done; returns their results, by worker. */
  wait(): number[];
}

let threads: SimdThreadPool | undefined;
let compiledShared: WebAssembly.Module | null | undefined;
// A collected kernel memory is forgotten by the pool it was attached to (handles are per pool).
const detachOnCollect = new FinalizationRegistry<{ pool: SimdThreadPool; handle: number }>(({ pool, handle }) =>
  pool.detach(handle),
);

/**
 * Installs (or, with undefined, removes) the threads that SIMD kernels created from now on run on. cbir-node's
 * `initNodeBackend` installs one with a worker per extra core; call it yourself only to change that.
 *
 * @example
 * ```ts
 * import { setSimdThreads } from 'cbir-core/compute';
 * setSimdThreads(undefined);   // every kernel created from now on runs on the calling thread only
 * ```
 */
export function setSimdThreads(pool: SimdThreadPool | undefined): void {
  threads = pool;
  pool_.length = 0;
  if (pool && compiledShared === undefined) {
    try {
      const bytes = kernelBytes(SIMD_SHARED_RELAXED_WASM_BASE64, SIMD_SHARED_WASM_BASE64);
      compiledShared = bytes ? new WebAssembly.Module(bytes) : null;
    } catch {
      compiledShared = null;
    }
  }
}

let suspended = 0;

/**
 * Runs `fn` with every SIMD kernel on the calling thread only. For callers that keep the other cores busy
 * themselves, such as cbir-node's `EncoderPool`, whose worker threads each run a whole encoder.
 *
 * @example
 * ```ts
 * import { withoutSimdThreads } from 'cbir-core/compute';
 * const z = withoutSimdThreads(() => ae.encode(x));   // the kernels leave the other cores to your own workers
 * ```
 */
export function withoutSimdThreads<T>(fn: () => T): T {
  suspended++;
  try {
    return fn();
  } finally {
    suspended--;
  }
}

/** Whether SIMD kernel calls may run on more than the calling thread now (threads installed, not suspended). */
export function simdThreadsActive(): boolean {
  return threads !== undefined && threads.workers > 0 && suspended === 0;
}

/** Work (multiply-adds or so) below which a kernel call runs on the calling thread only: waking a worker costs ~10 us. */
const PARALLEL_MIN_WORK = 1 << 16;

let compiled: WebAssembly.Module | null | undefined;
/** The compiled modules whose structs' layouts were checked against KERNEL_STRUCTS. */
const layoutsChecked = new WeakSet<WebAssembly.Module>();
/** Instances freed by their owners, kept for reuse (creating one costs a memory and an instantiation). */
const pool_: SimdKernels[] = [];
const POOL_SIZE = 4;
/** Instances whose memory grew past this are dropped rather than pooled, so the pool holds no large memory. */
const POOL_MAX_BYTES = 64 * 2 ** 20;

/** The bytes of a base64 string (the kernels' binaries are committed as base64). */
export function decodeBase64(s: string): Uint8Array {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const lookup = new Uint8Array(128);
  for (let i = 0; i < alphabet.length; i++) lookup[alphabet.charCodeAt(i)] = i;
  const clean = s.replace(/=+$/, '');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  for (let i = 0, o = 0; i < clean.length; i += 4) {
    const n =
      (lookup[clean.charCodeAt(i)] << 18) |
      (lookup[clean.charCodeAt(i + 1)] << 12) |
      (lookup[clean.charCodeAt(i + 2)] << 6) |
      lookup[clean.charCodeAt(i + 3)];
    if (o < out.length) out[o++] = n >> 16;
    if (o < out.length) out[o++] = (n >> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  return out;
}

let relaxedLoaded = false;

/**
 * Whether the SIMD kernels compiled so far are the relaxed-SIMD build, whose convolutions fuse their multiply-adds
 * (`f32x4.relaxed_madd`: one FMA where the CPU has it): about 10% off a V2 training step in Node.
 *
 * @example
 * ```ts
 * import { prepareSimdKernels, simdKernelsAreRelaxed } from 'cbir-core/compute';
 * await prepareSimdKernels();
 * simdKernelsAreRelaxed(); // true in Chrome 114+, Node 22+, and Node 20 after importing cbir-node
 * ```
 */
export function simdKernelsAreRelaxed(): boolean {
  return relaxedLoaded;
}

/**
 * The bytes of the build to compile: the relaxed-SIMD one where the engine validates it (Chrome 114+, Node 22+, or
 * Node 20 with `--experimental-wasm-relaxed-simd`, which cbir-node sets), else the plain SIMD one, else null (no
 * WebAssembly SIMD).
 */
function kernelBytes(relaxed: string, plain: string): Uint8Array | null {
  if (typeof WebAssembly !== 'object') return null;
  const fused = decodeBase64(relaxed);
  if (WebAssembly.validate(fused)) {
    relaxedLoaded = true;
    return fused;
  }
  const bytes = decodeBase64(plain);
  return WebAssembly.validate(bytes) ? bytes : null;
}

/**
 * The compiled module, or null where WebAssembly SIMD is unavailable (then callers use their JS loops). Compiled
 * synchronously on first use unless {@link prepareSimdKernels} compiled it already: browsers refuse to compile
 * modules over 4 KB synchronously on their main thread, so there the first use without it finds null.
 */
function kernelModule(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  try {
    const bytes = kernelBytes(SIMD_RELAXED_WASM_BASE64, SIMD_WASM_BASE64);
    compiled = bytes ? new WebAssembly.Module(bytes) : null;
  } catch {
    compiled = null;
  }
  return compiled;
}

/**
 * Compiles cbir's WebAssembly SIMD kernels (the distance loops of the indexes and the clustering) ahead of use,
 * asynchronously. `initNodeBackend` and `initBrowserBackend` call it; call it yourself before using indexes or
 * clustering on a browser's main thread without `initBrowserBackend`, where synchronous compilation is refused.
 *
 * @returns Whether the kernels are available (false where WebAssembly SIMD is not: then JS loops run instead).
 * @example
 * ```ts
 * import { prepareSimdKernels } from 'cbir-core/compute';
 * await prepareSimdKernels();   // true in Node >= 16.4 and current browsers
 * ```
 */
export async function prepareSimdKernels(): Promise<boolean> {
  if (compiled) return true;
  try {
    const bytes = kernelBytes(SIMD_RELAXED_WASM_BASE64, SIMD_WASM_BASE64);
    compiled = bytes ? await WebAssembly.compile(bytes) : null;
  } catch {
    compiled = null;
  }
  return compiled !== null;
}

/**
 * Runs `fn`, then frees the scratch it allocated from `kernels` (everything above the last `mark()`), whether `fn`
 * returns or throws: the one way cbir's callers take per-call memory from the kernels.
 * @internal
 */
export function withScratch<T>(kernels: SimdKernels, fn: () => T): T {
  try {
    return fn();
  } finally {
    kernels.release();
  }
}

/** A region of a {@link SimdKernels} memory: its byte offset and length in elements. */
export interface SimdBuffer {
  readonly ptr: number;
  readonly length: number;
}

/**
 * cbir's WebAssembly SIMD kernels (src/compute/wasm-simd/kernels.c) with a memory of their own: the distance loops under the
 * indexes and the clustering, 3-6x the JS loops they replace, with the same float64 results where those loops were
 * float64.
 *
 * Buffers are bump-allocated: `alloc` what a computation keeps (a copied data matrix), `mark()`, then allocate
 * scratch per call and `release()` back to the mark. Views (`f32`, `f64`, `i32`) must be re-read after any `alloc`,
 * which may grow (and so replace) the memory's buffer. One instance per owner; they share the compiled module.
 * @internal
 */
export class SimdKernels {
  readonly k: KernelExports;
  private readonly memory: WebAssembly.Memory;
  private top: number;
  private markAt: number;

  /** The threads this instance's memory is attached to, and its handle there. */
  private readonly threads?: SimdThreadPool;
  private readonly handle: number = 0;

  private constructor(module: WebAssembly.Module) {
    const shared = threads && compiledShared;
    if (shared) {
      this.memory = new WebAssembly.Memory({ initial: 2, maximum: 65536, shared: true });
      this.k = new WebAssembly.Instance(shared, { env: { memory: this.memory } }).exports as unknown as KernelExports;
      this.threads = threads;
      this.handle = threads!.attach(shared, this.memory);
      detachOnCollect.register(this, { pool: threads!, handle: this.handle });
    } else {
      this.memory = new WebAssembly.Memory({ initial: 2 });
      this.k = new WebAssembly.Instance(module, { env: { memory: this.memory } }).exports as unknown as KernelExports;
    }
    this.top = this.markAt = this.k.__heap_base.value;
    const checked = shared || module;
    if (!layoutsChecked.has(checked)) {
      const at = this.top;
      this.alloc(64, 4);
      assertStructLayouts((name) => {
        this.k[`layout_${name}`](at);
        return Array.from(new Int32Array(this.memory.buffer, at, structLayout(name).fields.length + 1));
      });
      this.reset();
      layoutsChecked.add(checked);
    }
  }

  /** The most shares {@link SimdKernels.rows} splits a call into (the workers and the calling thread). */
  get maxParts(): number {
    const pool = this.threads === threads && suspended === 0 ? this.threads : undefined;
    return pool ? pool.workers + 1 : 1;
  }

  /**
   * Runs kernel `name` over `n` rows, split between the calling thread and the workers when there are any and the
   * work (`n * workPerRow`) pays for waking them. `args(r0, r1, part)` gives the kernel's arguments for rows
   * `[r0, r1)`; `part` (0 .. {@link SimdKernels.maxParts} - 1) numbers the shares, for kernels with scratch of their own.
   * @returns Each share's result (for kernels that return a value), the caller's first.
   */
  rows(
    name: SimdKernelName,
    n: number,
    workPerRow: number,
    args: (r0: number, r1: number, part: number) => number[],
  ): number[] {
    const fn = this.k[name] as (...a: number[]) => number;
    // (A pool replaced since this instance attached to it may be closed: then this instance runs on one thread, as it
    // does inside withoutSimdThreads.)
    const pool = this.threads === threads && suspended === 0 ? this.threads : undefined;
    if (!pool || n < 2 || n * workPerRow < PARALLEL_MIN_WORK) return [fn(...args(0, n, 0))];
    const parts = Math.min(pool.workers + 1, n);
    // Shares in multiples of 4 rows (the dot kernel's register block), the caller's last.
    const step = Math.ceil(n / parts / 4) * 4;
    const bounds = Array.from({ length: parts }, (_, i) => [Math.min(n, i * step), Math.min(n, (i + 1) * step)]);
    const theirs = bounds.slice(0, parts - 1).map(([a, b], i) => args(a, b, i));
    pool.start(this.handle, name, theirs);
    const [a, b] = bounds[parts - 1];
    const mine = b > a ? fn(...args(a, b, parts - 1)) : 0;
    return [mine, ...pool.wait()];
  }

  /** Whether the threads installed now are not the ones this instance runs on (see {@link setSimdThreads}). */
  get stale(): boolean {
    return this.threads !== threads;
  }

  /** A new instance, or undefined where WebAssembly SIMD is unavailable. */
  static create(): SimdKernels | undefined {
    const module = kernelModule();
    return module ? new SimdKernels(module) : undefined;
  }

  /** An instance from the pool (emptied), or a new one; undefined where WebAssembly SIMD is unavailable. */
  static acquire(): SimdKernels | undefined {
    const pooled = pool_.pop();
    if (pooled) return pooled;
    return SimdKernels.create();
  }

  /** Returns an instance to the pool; the caller must not use it afterwards. */
  static recycle(kernels: SimdKernels): void {
    kernels.reset();
    if (pool_.length < POOL_SIZE && kernels.memory.buffer.byteLength <= POOL_MAX_BYTES && kernels.threads === threads)
      pool_.push(kernels);
  }

  /** Whether the kernels can run here (WebAssembly with SIMD). */
  static get available(): boolean {
    return kernelModule() !== null;
  }

  /** Whether `bytes` (with the module's own stack and data) fit in one instance's memory (wasm32: 4 GiB). */
  static fits(bytes: number): boolean {
    return bytes + PAGE * 2 <= MAX_BYTES;
  }

  /**
   * Allocates `length` elements of `bytesPer` bytes, 16-byte aligned.
   * @throws RangeError past wasm32's 4 GiB (check {@link SimdKernels.fits} first).
   */
  alloc(length: number, bytesPer: 4 | 8): SimdBuffer {
    const ptr = Math.ceil(this.top / 16) * 16;
    const end = ptr + length * bytesPer;
    if (end > MAX_BYTES) throw new RangeError(`SimdKernels.alloc: ${end} bytes exceed wasm32's 4 GiB memory.`);
    const have = this.memory.buffer.byteLength;
    if (end > have) this.memory.grow(Math.ceil((end - have) / PAGE));
    this.top = end;
    return { ptr, length };
  }

  /** Everything allocated from now on is scratch, freed by {@link SimdKernels.release}. */
  mark(): void {
    this.markAt = this.top;
  }

  /** Frees the scratch allocated since the last {@link SimdKernels.mark}. */
  release(): void {
    this.top = this.markAt;
  }

  /** Frees everything. */
  reset(): void {
    this.top = this.markAt = this.k.__heap_base.value;
  }

  /**
   * Allocates one of kernels.c's structs (`KERNEL_STRUCTS`) and writes its fields by name; returns its buffer
   * (pass `ptr` to the kernel).
   */
  struct<S extends KernelStructName>(name: S, values: KernelStructValues<S>): SimdBuffer {
    const { size, fields } = structLayout(name);
    const b = this.alloc(size / 4, 4);
    const view = new DataView(this.memory.buffer, b.ptr, size);
    const v = values as Record<string, number>;
    for (const f of fields) {
      if (f.f64) view.setFloat64(f.offset, v[f.name], true);
      else view.setInt32(f.offset, v[f.name], true);
    }
    return b;
  }

  f32(b: SimdBuffer): Float32Array {
    return new Float32Array(this.memory.buffer, b.ptr, b.length);
  }

  f64(b: SimdBuffer): Float64Array {
    return new Float64Array(this.memory.buffer, b.ptr, b.length);
  }

  i32(b: SimdBuffer): Int32Array {
    return new Int32Array(this.memory.buffer, b.ptr, b.length);
  }
}
