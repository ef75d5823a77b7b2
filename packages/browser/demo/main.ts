import embed from 'vega-embed';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import * as tf from '@tensorflow/tfjs-core';
import * as cbir from '../src/index.js';
import {
  AbortedError,
  arrayDataset,
  canvasDecoder,
  ConvAutoencoder,
  ConvAutoencoderV2,
  CosineIndex,
  downloadBytes,
  downloadModel,
  elbow,
  elbowPlotSpec,
  embedImages,
  ExactEuclideanIndex,
  fileListDataset,
  initBrowserBackend,
  LSHIndex,
  saveBytes,
  saveModelToIndexedDb,
  trainAutoencoder,
  type Autoencoder,
  type BrowserBackendName,
  type Features,
  type FileListDataset,
  type Index,
  type TrainResult,
} from '../src/index.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const state: {
  backend?: string;
  data?: FileListDataset;
  files: File[];
  urls: string[];
  model?: Autoencoder;
  features?: Features;
  index?: Index;
  epochSeconds?: number;
  controller?: AbortController;
  lastResults?: { id: string; distance: number }[];
} = { files: [], urls: [] };
// For the end-to-end test (and the curious): the page's state and the library it runs.
(window as unknown as { cbirDemo: typeof state & { lib: typeof cbir; tf: typeof tf } }).cbirDemo = Object.assign(
  state,
  { lib: cbir, tf },
);

if ('serviceWorker' in navigator && location.protocol.startsWith('http'))
  navigator.serviceWorker.register('./sw.js').catch(() => undefined);

const prefer = new URLSearchParams(location.search).get('backend')?.split(',') as BrowserBackendName[] | undefined;
const backend = await initBrowserBackend({
  prefer,
  wasmPaths: {
    'tfjs-backend-wasm.wasm': wasmPlain,
    'tfjs-backend-wasm-simd.wasm': wasmSimd,
    'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
  },
});
state.backend = backend.name;
$('backend').textContent =
  `tfjs backend: ${backend.name}${backend.skipped.length ? ` (skipped: ${backend.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')})` : ''}`;
document.body.dataset.backend = backend.name;

function setFiles(files: File[]) {
  state.urls.forEach((u) => URL.revokeObjectURL(u));
  try {
    state.data = fileListDataset(files, { size: Number($<HTMLInputElement>('size').value) });
  } catch (e) {
    $('data-status').textContent = (e as Error).message;
    return;
  }
  state.files = state.data.files;
  state.urls = state.files.map((f) => URL.createObjectURL(f));
  $('data-status').textContent =
    `${state.files.length} images${state.data.labels.length ? ` in ${state.data.labels.length} folders` : ''}.`;
  $('thumbs').replaceChildren(
    ...state.files.map((f, i) => tile(state.urls[i], state.data!.entry(i).id, () => searchRow(i), `thumb-${i}`)),
  );
  $<HTMLButtonElement>('train').disabled = false;
}

function tile(src: string, caption: string, onClick?: () => void, testId?: string): HTMLElement {
  const div = document.createElement('div');
  div.className = 'tile';
  if (testId) div.dataset.testid = testId;
  const img = Object.assign(document.createElement('img'), { src, alt: caption, loading: 'lazy' });
  div.append(img, Object.assign(document.createElement('div'), { textContent: caption }));
  if (onClick) div.addEventListener('click', onClick);
  return div;
}

$('files').addEventListener('change', (e) => setFiles([...((e.target as HTMLInputElement).files ?? [])]));
$('folder').addEventListener('change', (e) => setFiles([...((e.target as HTMLInputElement).files ?? [])]));
const drop = $('drop');
drop.addEventListener('dragover', (e) => (e.preventDefault(), drop.classList.add('over')));
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  setFiles([...(e.dataTransfer?.files ?? [])]);
});

$('train').addEventListener('click', async () => {
  const size = Number($<HTMLInputElement>('size').value);
  const epochs = Number($<HTMLInputElement>('epochs').value);
  state.data = fileListDataset(state.files, { size });
  state.model?.dispose();
  let model: Autoencoder;
  try {
    model =
      $<HTMLSelectElement>('model').value === 'v1'
        ? new ConvAutoencoder({ inputSize: size, seed: 0 })
        : new ConvAutoencoderV2({ inputSize: size, seed: 0 }); // seeded: the same page, the same model
  } catch (e) {
    $('train-status').textContent = (e as Error).message;
    return;
  }
  state.model = model;
  state.controller = new AbortController();
  $<HTMLButtonElement>('train').disabled = true;
  $<HTMLButtonElement>('stop').disabled = false;
  const losses: { step: number; loss: number }[] = [];
  const chart = await embed(
    '#loss-chart',
    {
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
      width: 420,
      height: 160,
      padding: { left: 16, top: 4, right: 4, bottom: 4 },
      data: { name: 'loss', values: [] },
      // Points on the line and whole-batch ticks: an epoch of a small folder is 2 or 3 batches, which a bare line hides.
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'step', type: 'quantitative', title: 'batch', axis: { tickMinStep: 1, format: 'd' } },
        y: { field: 'loss', type: 'quantitative', title: 'MSE', scale: { zero: false } },
      },
    },
    { actions: false },
  );
  const started = performance.now();
  try {
    // Stop ends training at a batch boundary with an AbortedError holding the result so far: the page goes on with it.
    const result = await trainAutoencoder(model, state.data, {
      epochs,
      signal: state.controller.signal,
      onProgress: (e) => {
        if (e.stage === 'train') {
          const point = { step: losses.length, loss: e.loss };
          losses.push(point);
          chart.view.insert('loss', [point]).run();
          $('train-status').textContent =
            `epoch ${e.epoch + 1}/${e.epochs}, batch ${e.batch + 1}/${e.batches}: loss ${e.loss.toFixed(4)}, ${e.imagesPerSec.toFixed(1)} images/s`;
        } else if (e.stage === 'epoch') state.epochSeconds = e.seconds;
      },
    }).then(
      (r) => ({ ...r, stopped: false }),
      (e: unknown) => {
        if (e instanceof AbortedError && e.partial) return { ...(e.partial as TrainResult), stopped: true };
        throw e;
      },
    );
    $('train-status').textContent =
      `${result.stopped ? 'stopped' : 'trained'}: ${result.history.length} epoch(s), best validation loss ${result.bestValLoss.toFixed(4)}, ${((performance.now() - started) / 1000).toFixed(1)} s` +
      `${state.epochSeconds ? ` (last epoch ${state.epochSeconds.toFixed(2)} s)` : ''}. Embedding...`;
    state.features = await embedImages(model, state.data);
    $('train-status').textContent +=
      ` done: ${state.features.matrix.rows} features of dim ${state.features.matrix.cols}.`;
    document.body.dataset.trained = 'true';
    for (const id of ['build', 'elbow']) $<HTMLButtonElement>(id).disabled = false;
  } catch (e) {
    $('train-status').textContent = `training failed: ${(e as Error).message}`;
  } finally {
    $<HTMLButtonElement>('train').disabled = false;
    $<HTMLButtonElement>('stop').disabled = true;
  }
});
$('stop').addEventListener('click', () => state.controller?.abort());

$('build').addEventListener('click', () => {
  const f = state.features!;
  const dim = f.matrix.cols;
  const type = $<HTMLSelectElement>('index-type').value;
  const index: Index =
    type === 'cosine'
      ? new CosineIndex(dim)
      : type === 'lsh'
        ? new LSHIndex({ inputDim: dim, hashSize: 8, numHashtables: 8, centre: true, seed: 0 })
        : new ExactEuclideanIndex(dim);
  try {
    index.add(
      f.matrix,
      undefined,
      f.ids.map((id, i) => ({ path: id, label: f.labels[i] })),
    );
  } catch (e) {
    $('index-status').textContent = (e as Error).message;
    return;
  }
  state.index = index;
  $('index-status').textContent = `${type} index of ${index.size} images built. Click a photo to search.`;
  document.body.dataset.indexed = type;
  for (const id of ['save', 'download']) $<HTMLButtonElement>(id).disabled = false;
});

$('elbow').addEventListener('click', async () => {
  const x = state.features!.matrix;
  const ks = Array.from({ length: Math.min(8, x.rows - 1) - 1 }, (_, i) => i + 2);
  await embed('#elbow-chart', elbowPlotSpec(elbow(x, { ks, estimator: { nInit: 3 } })) as never, { actions: false });
});

$('save').addEventListener('click', async () => {
  await saveModelToIndexedDb(state.model!, 'demo');
  await saveBytes('index:demo', state.index!.serialize());
  $('index-status').textContent = 'model and index saved in this browser (IndexedDB).';
});
$('download').addEventListener('click', async () => {
  await downloadModel(state.model!);
  downloadBytes(state.index!.serialize(), 'demo.cbirindex');
});

/** Shows the 10 nearest to `vector`; `self` (a clicked photo's id) is not listed as its own first result. */
function showResults(queryCaption: string, querySrc: string, vector: Float32Array, self?: number) {
  if (!state.index) {
    $('search-status').textContent = 'Build an index first.';
    return;
  }
  const k = Math.min(10, state.index.size - (self === undefined ? 0 : 1));
  const res = state.index.search(
    { data: vector, rows: 1, cols: vector.length },
    Math.min(state.index.size, k + (self === undefined ? 0 : 1)),
  );
  const hits = cbir
    .searchHits(state.index, res)
    .filter((h) => h.id !== self)
    .slice(0, k);
  state.lastResults = hits.map((h) => ({ id: state.features!.ids[h.id], distance: h.distance }));
  const q = tile(querySrc, queryCaption);
  q.classList.add('query');
  $('results').replaceChildren(
    q,
    ...hits.map((h, j) =>
      tile(
        state.urls[h.id],
        `#${j + 1} ${h.distance.toFixed(3)} ${state.features!.ids[h.id].split('/').pop()}`,
        undefined,
        `result-${j}`,
      ),
    ),
  );
  $('search-status').textContent = `${hits.length} nearest to ${queryCaption}`;
  document.body.dataset.searched = String(hits.length);
}

function searchRow(i: number) {
  if (!state.features) return;
  const dim = state.features.matrix.cols;
  showResults(state.features.ids[i], state.urls[i], state.features.matrix.data.slice(i * dim, (i + 1) * dim), i);
}

$('query').addEventListener('change', async (e) => {
  const file = (e.target as HTMLInputElement).files?.[0];
  if (!file || !state.model || !state.features) return;
  const size = state.model.inputSize;
  const image = await canvasDecoder({ size }).decode(file);
  const q = await embedImages(state.model, arrayDataset(size, [{ id: file.name, image }]), {
    reducer: state.features.reducer,
  });
  showResults(`${file.name} (new)`, URL.createObjectURL(file), q.matrix.data);
});
