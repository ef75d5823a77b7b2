import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend, formatAdapter, probeWebGpu } from 'cbir-node';
import { flagList } from '../flags.js';

const OPTIONS = { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } as const;

const HELP = `Usage: cbir doctor [--json]

Prints the backend cbir would use and why others were skipped, and the GPU WebGPU sees (or why it sees none).

${flagList(OPTIONS, { json: 'machine-readable output: one JSON object', help: 'print this help and exit' })}`;

export async function doctor(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: OPTIONS });
  if (values.help) return console.log(HELP);
  const choice = await initNodeBackend();
  const report = {
    node: process.version,
    tfjs: tf.version_core,
    backend: choice.name,
    skipped: choice.skipped,
    wasmSimd: choice.name === 'wasm' ? Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) : undefined,
    wasmThreads: choice.name === 'wasm' ? Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) : undefined,
    simdThreads: choice.simdThreads,
    webgpu: choice.adapter ? { adapter: choice.adapter } : await probeWebGpu(),
  };
  if (values.json) return console.log(JSON.stringify(report));
  console.log(`node ${report.node}, tfjs ${report.tfjs}\nbackend: ${report.backend}`);
  for (const s of report.skipped) console.log(`  skipped ${s.name}: ${s.reason}`);
  const { adapter, reason } = report.webgpu;
  console.log(
    adapter
      ? `webgpu adapter: ${formatAdapter(adapter)}; largest tensor ${(adapter.maxStorageBufferBindingSize / 2 ** 20).toFixed(0)} MiB`
      : `webgpu adapter: none (${reason})`,
  );
  if (report.wasmSimd !== undefined) console.log(`tfjs wasm: SIMD ${report.wasmSimd}, threads ${report.wasmThreads}`);
  console.log(
    report.simdThreads > 0
      ? `cbir SIMD kernels: on ${report.simdThreads} thread${report.simdThreads > 1 ? 's' : ''} (the wasm backend's convolutions and their gradients, exact search, LSH, clustering)`
      : 'cbir SIMD kernels: unavailable (no WebAssembly SIMD): JS loops and tfjs kernels instead',
  );
}
