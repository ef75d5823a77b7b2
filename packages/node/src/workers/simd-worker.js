// A worker thread of SimdThreads: runs cbir's SIMD kernels on memories it shares with the main thread.
// Plain JavaScript so that it runs as is from src/ and from dist/. It never returns to its event loop: it sleeps in
// Atomics.wait on its control slot, and takes the modules and memories to attach with receiveMessageOnPort.
import { receiveMessageOnPort, workerData } from 'node:worker_threads';

const { control, results, port, slot, names, SLOT, ARGS } = workerData;
const ctl = new Int32Array(control);
const out = new Float64Array(results);
const base = slot * SLOT;
const instances = new Map();
const CMD = 0, HANDLE = 1, FN = 2, NARGS = 3;

// After each command the worker spins a little before it sleeps: waking a sleeping thread costs tens of
// microseconds, as much as a small kernel call.
const SPIN = 300000;
for (;;) {
  for (let i = 0; i < SPIN && Atomics.load(ctl, base + CMD) === 0; i++);
  Atomics.wait(ctl, base + CMD, 0);
  const cmd = Atomics.load(ctl, base + CMD);
  let status = 0;
  try {
    if (cmd === 1) {
      let m;
      while (!(m = receiveMessageOnPort(port))) Atomics.wait(ctl, base + CMD, cmd, 1); // the message is on its way
      const { handle, module, memory } = m.message;
      instances.set(handle, new WebAssembly.Instance(module, { env: { memory } }).exports);
    } else if (cmd === 2) {
      instances.delete(ctl[base + HANDLE]);
    } else if (cmd === 3) {
      const fn = instances.get(ctl[base + HANDLE])[names[ctl[base + FN]]];
      out[slot] = fn(...ctl.subarray(base + ARGS, base + ARGS + ctl[base + NARGS]));
    } else if (cmd === 4) {
      break;
    }
  } catch (error) {
    status = -1;
    out[slot] = NaN;
    console.error(`cbir SIMD worker ${slot}: ${error?.stack ?? error}`);
  }
  Atomics.store(ctl, base + CMD, status);
  Atomics.notify(ctl, base + CMD);
}
