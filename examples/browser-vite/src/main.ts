// cbir-browser in a Vite app, offline: the wasm backend's three .wasm files are imported with `?url`, so Vite copies
// them into the build and the app passes their URLs (no CDN). Draws 3 classes x 4 small pictures on a canvas, decodes
// them as a user's files would be, searches by colour histogram, and encodes them with the notebook's ConvAutoencoder.
import * as tf from '@tensorflow/tfjs-core';
import {
  ConvAutoencoder,
  canvasDecoder,
  colorHistogram,
  createIndex,
  imagesToTensor,
  initBrowserBackend,
  type RawImage,
} from 'cbir-browser';
import wasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';

const SIZE = 32;
const CLASSES = { red: '#d22828', green: '#28aa3c', blue: '#2846d2' } as const;

/** One picture as a PNG blob, as an `<input type=file>` would give it: a class colour, stripes shifted by `i`. */
async function picture(colour: string, i: number): Promise<Blob> {
  const canvas = document.createElement('canvas');
  canvas.width = 96;
  canvas.height = 80;
  const g = canvas.getContext('2d')!;
  g.fillStyle = colour;
  g.fillRect(0, 0, 96, 80);
  g.fillStyle = 'rgba(255,255,255,0.6)';
  for (let y = i * 3; y < 80; y += 16) g.fillRect(0, y, 96, 5);
  return new Promise((resolve, reject) =>
    canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('toBlob failed'))), 'image/png'),
  );
}

async function main(): Promise<void> {
  // ?backend=wasm forces one backend; by default the fastest that works (WebGPU, WebGL, wasm, cpu).
  const forced = new URLSearchParams(location.search).get('backend') as 'webgpu' | 'webgl' | 'wasm' | 'cpu' | null;
  const backend = await initBrowserBackend({
    prefer: forced ? [forced] : undefined,
    wasmPaths: {
      'tfjs-backend-wasm.wasm': wasm,
      'tfjs-backend-wasm-simd.wasm': wasmSimd,
      'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedSimd,
    },
  });

  const decoder = canvasDecoder({ size: SIZE });
  const images: RawImage[] = [];
  const labels: string[] = [];
  for (const [label, colour] of Object.entries(CLASSES)) {
    for (let i = 0; i < 4; i++) {
      images.push(await decoder.decode(await picture(colour, i)));
      labels.push(label);
    }
  }

  // Search: a colour histogram per image, a cosine index, the first red picture as the query.
  const rows = images.map((image) => colorHistogram(image));
  const cols = rows[0].length;
  const data = new Float32Array(rows.length * cols);
  rows.forEach((r, i) => data.set(r, i * cols));
  const index = createIndex('cosine', cols);
  index.add(
    { data, rows: rows.length, cols },
    undefined,
    labels.map((label, i) => ({ path: `${label}-${i}.png`, label })),
  );
  const { ids } = index.search({ data: rows[0], rows: 1, cols }, 5);
  const hits = Array.from(ids, (id) => labels[id]);

  // The notebook's ConvAutoencoder on the chosen backend: the 12 pictures' latents.
  const model = new ConvAutoencoder({ inputSize: SIZE, seed: 1 });
  const latent = tf.tidy(() => model.encode(imagesToTensor(images, SIZE)));
  const values = await latent.data();
  const latentShape = latent.shape;
  latent.dispose();
  model.dispose();

  document.getElementById('results')!.innerHTML = hits.map((l) => `<li>${l}</li>`).join('');
  document.getElementById('status')!.textContent =
    `Backend ${backend.name}: the query's 5 nearest are ${hits.join(', ')}.`;
  document.body.dataset.result = JSON.stringify({
    backend: backend.name,
    hits,
    latentShape,
    latentFinite: values.every(Number.isFinite),
    numTensors: tf.memory().numTensors,
  });
}

main().catch((error: unknown) => {
  document.getElementById('status')!.textContent = `Failed: ${String(error)}`;
  document.body.dataset.error = String(error instanceof Error ? (error.stack ?? error.message) : error);
});
