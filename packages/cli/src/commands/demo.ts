import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs-core';
import { ConvAutoencoder, ConvAutoencoderV2, imagesToTensor, loadTorchWeights, tensorToImage } from 'cbir-core';
import { initNodeBackend, encodePng, sharpDecoder, writeFileAtomic } from 'cbir-node';
import { UsageError } from '../usage.js';
import { flagList } from '../flags.js';

const OPTIONS = {
  model: { type: 'string', default: 'v1' },
  size: { type: 'string', default: '128' },
  weights: { type: 'string' },
  out: { type: 'string', default: 'cbir-demo' },
  help: { type: 'boolean', short: 'h' },
} as const;

const MEANINGS = {
  model: ['v1|v2', 'the network'],
  size: ['S', 'the input size'],
  weights: ['FILE', 'PyTorch weights to load (a .pt/.pth checkpoint or state dict, or safetensors)'],
  out: ['DIR', 'where the reconstruction goes'],
  help: 'print this help and exit',
} as const;

const HELP = `Usage: cbir demo [--model v1|v2] [--size N] [--weights FILE] [--out DIR]

Builds ConvAutoencoder (v1) or ConvAutoencoderV2 (v2), prints its summary, loads PyTorch weights (safetensors or a
torch.save file) when given, reconstructs an image made on the fly and writes input and reconstruction as PNG.

  --model    v1 or v2                                   (default v1)
  --size     input side; v1: 8 mod 12, v2: multiple of 32 (default 128)
  --weights  PyTorch weights: .safetensors or torch.save .pth
  --out      output folder                              (default cbir-demo)

${flagList(OPTIONS, MEANINGS)}`;

/** A test card: gradient sky, a sun, hills. Drawn as SVG, rendered by sharp, so nothing is downloaded. */
function testCardSvg(size: number): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 100 100">
  <defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#1e5aa8"/><stop offset="1" stop-color="#bfe3ff"/></linearGradient></defs>
  <rect width="100" height="100" fill="url(#sky)"/>
  <circle cx="72" cy="28" r="13" fill="#ffd23f"/>
  <path d="M0 70 Q25 50 50 68 T100 62 V100 H0 Z" fill="#2f8f46"/>
  <rect x="18" y="58" width="16" height="14" fill="#b5523b"/><path d="M15 58 L26 48 L37 58 Z" fill="#6b2f23"/>
</svg>`;
}

export async function demo(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: OPTIONS,
  });
  if (values.help) return console.log(HELP);
  if (values.model !== 'v1' && values.model !== 'v2')
    throw new UsageError(`--model must be v1 or v2, got "${values.model}".`);
  const size = Number(values.size);

  const backend = await initNodeBackend();
  console.log(`backend: ${backend.name}` + backend.skipped.map((s) => `\n  skipped ${s.name}: ${s.reason}`).join(''));

  const model =
    values.model === 'v1'
      ? new ConvAutoencoder({ inputSize: size, seed: 0 })
      : new ConvAutoencoderV2({ inputSize: size, seed: 0 });
  console.log(`\n${model.formatSummary()}\n`);

  if (values.weights) {
    const path = resolve(values.weights);
    const info = loadTorchWeights(model, new Uint8Array(await readFile(path)), { source: path });
    console.log(
      `loaded ${info.loaded.length} tensors from ${path} (${info.format}` +
        `${info.epoch !== undefined ? `, epoch ${info.epoch}` : ''}${info.loss !== undefined ? `, loss ${info.loss}` : ''})`,
    );
  } else {
    console.log('no --weights given: using seeded random weights');
  }

  const card = await sharp(Buffer.from(testCardSvg(size)))
    .png()
    .toBuffer();
  const image = await sharpDecoder({ size }).decode(new Uint8Array(card));
  const start = performance.now();
  const x = imagesToTensor([image], size);
  const y = model.reconstruct(x);
  const mse = tf.tidy(() => tf.losses.meanSquaredError(x, y).dataSync()[0]);
  const output = tensorToImage(y);
  tf.dispose([x, y]);
  const ms = performance.now() - start;
  console.log(
    `reconstructed a ${size}x${size} test card in ${ms.toFixed(0)} ms: MSE ${mse.toFixed(5)} (on [-1, 1] pixels)`,
  );

  const out = resolve(values.out);
  await mkdir(out, { recursive: true });
  await writeFileAtomic(join(out, 'input.png'), await encodePng(image));
  await writeFileAtomic(join(out, 'reconstruction.png'), await encodePng(output));
  console.log(`wrote ${join(out, 'input.png')} and ${join(out, 'reconstruction.png')}`);
  model.dispose();
}
