// @ts-check
// A worker thread of SimdThreads: runs cbir's SIMD kernels on memories it shares with the main thread, by the
// protocol in simd-protocol.js. Plain JavaScript so that it runs as is from src/ and from dist/. It never returns to
// its event loop: it sleeps in Atomics.wait on its control word, and takes the modules and memories to attach with
// receiveMessageOnPort.
import { receiveMessageOnPort, workerData } from 'node:worker_threads';
import { CMD, FAILED, SLOT, WORD } from './simd-protocol.js';

/** @type {import('./simd-protocol.js').SimdWorkerData} */
const { control, results, port, slot, names, spin } = workerData;
const ctl = new Int32Array(control);
const out = new Float64Array(results);
const base = slot * SLOT;
/** @type {Map<number, Record<string, (...args: number[]) => number>>} */
const instances = new Map();

for (;;) {
  for (let i = 0; i < spin && Atomics.load(ctl, base + WORD.cmd) === CMD.idle; i++);
  Atomics.wait(ctl, base + WORD.cmd, CMD.idle);
  const cmd = Atomics.load(ctl, base + WORD.cmd);
  /** @type {number} */
  let status = CMD.idle;
  try {
    if (cmd === CMD.attach) {
      let m;
      while (!(m = receiveMessageOnPort(port))) Atomics.wait(ctl, base + WORD.cmd, cmd, 1); // the message is on its way
      const { handle, module, memory } = m.message;
      instances.set(
        handle,
        /** @type {Record<string, (...args: number[]) => number>} */ (
          new WebAssembly.Instance(module, { env: { memory } }).exports
        ),
      );
    } else if (cmd === CMD.detach) {
      instances.delete(ctl[base + WORD.handle]);
    } else if (cmd === CMD.run) {
      const exports = instances.get(ctl[base + WORD.handle]);
      if (!exports) throw new Error(`no memory attached as handle ${ctl[base + WORD.handle]}`);
      const fn = exports[names[ctl[base + WORD.kernel]]];
      out[slot] = fn(...ctl.subarray(base + WORD.args, base + WORD.args + ctl[base + WORD.nargs]));
    } else if (cmd === CMD.exit) {
      break;
    }
  } catch (error) {
    status = FAILED;
    out[slot] = NaN;
    console.error(`cbir SIMD worker ${slot}: ${error instanceof Error ? error.stack : error}`);
  }
  Atomics.store(ctl, base + WORD.cmd, status);
  Atomics.notify(ctl, base + WORD.cmd);
}
