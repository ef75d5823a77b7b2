import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {
  createExtractor,
  extractMatrix,
  initNodeBackend,
  loadTfjsModel,
  PretrainedExtractor,
  type RawImage,
} from 'cbir-node';
import { beforeAll, describe, expect, it } from 'vitest';

// Nothing is downloaded: a tiny model is built here, saved in each tfjs format, and loaded through the code a user's
// MobileNet would take.

function image(seed: number, size = 16): RawImage {
  const data = new Uint8Array(size * size * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37 + seed * 101 + ((i * i) >> 3)) & 255;
  return { data, width: size, height: size, channels: 3 };
}
const pixels = (im: RawImage, scale: (v: number) => number) =>
  tf.tensor4d(Float32Array.from(im.data, scale), [1, im.height, im.width, 3]);

/** Saves a layers model as a folder (model.json + one weights file), as tfjs's converter and model.save write it. */
async function saveLayers(model: tfl.LayersModel): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cbir-tfjs-layers-'));
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      await writeFile(join(dir, 'weights.bin'), new Uint8Array(a.weightData as ArrayBuffer));
      await writeFile(
        join(dir, 'model.json'),
        JSON.stringify({
          format: 'layers-model',
          modelTopology: a.modelTopology,
          weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }],
        }),
      );
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return dir;
}

/** A graph model as the converter writes one: input -> Conv2D (3x3, SAME) -> Relu, its kernel a weight. */
async function saveGraph(kernel: Float32Array, paths = ['group1-shard1of1.bin']): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cbir-tfjs-graph-'));
  const dims = (d: number[]) => ({ dim: d.map((size) => ({ size: String(size) })) });
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const modelTopology = {
    node: [
      {
        name: 'input',
        op: 'Placeholder',
        attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: dims([-1, 16, 16, 3]) } },
      },
      {
        name: 'kernel',
        op: 'Const',
        attr: {
          dtype: { type: 'DT_FLOAT' },
          value: { tensor: { dtype: 'DT_FLOAT', tensorShape: dims([3, 3, 3, 4]) } },
        },
      },
      {
        name: 'conv',
        op: 'Conv2D',
        input: ['input', 'kernel'],
        attr: {
          T: { type: 'DT_FLOAT' },
          strides: { list: { i: ['1', '1', '1', '1'] } },
          padding: { s: b64('SAME') },
          data_format: { s: b64('NHWC') },
          dilations: { list: { i: ['1', '1', '1', '1'] } },
        },
      },
      { name: 'features', op: 'Relu', input: ['conv'], attr: { T: { type: 'DT_FLOAT' } } },
    ],
    library: {},
    versions: { producer: 1 },
  };
  await writeFile(join(dir, 'group1-shard1of1.bin'), new Uint8Array(kernel.buffer));
  await writeFile(
    join(dir, 'model.json'),
    JSON.stringify({
      format: 'graph-model',
      generatedBy: 'cbir test',
      convertedBy: 'hand',
      modelTopology,
      weightsManifest: [{ paths, weights: [{ name: 'kernel', shape: [3, 3, 3, 4], dtype: 'float32' }] }],
    }),
  );
  return dir;
}

describe('PretrainedExtractor: a door for pretrained tfjs models', () => {
  beforeAll(async () => {
    await initNodeBackend();
  });

  it('a layers model from its folder: a named layer, scaled input, average pooling, unit vectors', async () => {
    const input = tfl.input({ shape: [16, 16, 3] });
    const conv = tfl.layers
      .conv2d({
        filters: 6,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        name: 'feat',
        kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }),
      })
      .apply(input) as tfl.SymbolicTensor;
    const pooled = tfl.layers.globalAveragePooling2d({}).apply(conv) as tfl.SymbolicTensor;
    const head = tfl.layers
      .dense({ units: 2, kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) })
      .apply(pooled) as tfl.SymbolicTensor;
    const original = tfl.model({ inputs: input, outputs: head });
    const dir = await saveLayers(original);
    const before = tf.memory().numTensors;
    const model = await loadTfjsModel(dir);
    const fx = await PretrainedExtractor.create(model, {
      inputSize: 16,
      output: 'feat',
      scaling: 'symmetric',
      source: dir,
    });
    expect([fx.kind, fx.dim, fx.needsFit]).toEqual(['tfjs-model', 6, false]);
    const ims = [image(1), image(2), image(3)];
    const raw = await extractMatrix(fx, ims);
    // The reference: the original in-memory model's layer output, averaged over height and width.
    const sub = tfl.model({ inputs: original.inputs, outputs: original.getLayer('feat').output as tfl.SymbolicTensor });
    ims.forEach((im, i) => {
      const want = tf.tidy(() =>
        tf.mean(sub.predict(pixels(im, (v) => v / 127.5 - 1)) as tf.Tensor, [1, 2]).dataSync(),
      );
      const got = raw.data.subarray(i * 6, (i + 1) * 6);
      want.forEach((v, j) => expect(got[j]).toBeCloseTo(v, 5));
    });
    const out = fx.transform(raw);
    const norm = Math.hypot(...out.data.subarray(0, 6));
    expect(norm).toBeCloseTo(1, 5);
    // Restored from its spec over the same weights; refused over other weights, or without a model.
    const again = await createExtractor(fx.spec(), { model });
    expect(Array.from((await extractMatrix(again, ims)).data)).toEqual(Array.from(raw.data));
    const other = (await loadTfjsModel(dir)) as tfl.LayersModel;
    const shifted = other.getWeights().map((w) => tf.add(w, 0.5));
    other.setWeights(shifted);
    tf.dispose(shifted);
    await expect(createExtractor(fx.spec(), { model: other })).rejects.toThrow(/the features were made by weights/);
    other.dispose();
    await expect(createExtractor(fx.spec())).rejects.toThrow(/pass it as \{ model \}/);
    await expect(PretrainedExtractor.create(model, { inputSize: 16, output: 'nope' })).rejects.toThrow(
      /no layer "nope"/,
    );
    fx.dispose();
    again.dispose();
    (model as tfl.LayersModel).dispose();
    expect(tf.memory().numTensors).toBe(before);
    original.dispose();
  });

  it('a graph model (the converter format) from model.json: the named node, max pooling, ImageNet scaling', async () => {
    const kernel = Float32Array.from({ length: 3 * 3 * 3 * 4 }, (_, i) => Math.sin(i * 0.7) * 0.3);
    const dir = await saveGraph(kernel);
    const model = await loadTfjsModel(join(dir, 'model.json'));
    const fx = await PretrainedExtractor.create(model, {
      inputSize: 16,
      output: 'features',
      pool: 'max',
      scaling: 'imagenet',
    });
    const im = image(5);
    const [v] = await fx.extract([im]);
    const mean = [0.485, 0.456, 0.406];
    const std = [0.229, 0.224, 0.225];
    const want = tf.tidy(() => {
      const x = tf.div(
        tf.sub(
          tf.div(
            pixels(im, (p) => p),
            255,
          ),
          tf.tensor1d(mean),
        ),
        tf.tensor1d(std),
      ) as tf.Tensor4D;
      return tf.max(tf.relu(tf.conv2d(x, tf.tensor4d(kernel, [3, 3, 3, 4]), 1, 'same')), [1, 2]).dataSync();
    });
    want.forEach((w, j) => expect(v[j]).toBeCloseTo(w, 5));
    // An image of another size is resized and cropped to the model's input first.
    const big = { data: new Uint8Array(40 * 24 * 3).fill(90), width: 40, height: 24, channels: 3 as const };
    expect((await fx.extract([big]))[0]).toHaveLength(4);
  });

  it('loads from an http URL (a model served on loopback here; nothing leaves the machine)', async () => {
    const { createServer } = await import('node:http');
    const { readFile } = await import('node:fs/promises');
    const kernel = Float32Array.from({ length: 108 }, (_, i) => Math.cos(i) * 0.2);
    const dir = await saveGraph(kernel);
    const server = createServer(async (req, res) => {
      const name =
        req.url === '/m/model.json'
          ? 'model.json'
          : req.url === '/m/group1-shard1of1.bin'
            ? 'group1-shard1of1.bin'
            : undefined;
      if (!name) return void res.writeHead(404).end();
      res.writeHead(200).end(await readFile(join(dir, name)));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as { port: number }).port;
      const model = await loadTfjsModel(`http://127.0.0.1:${port}/m/model.json`);
      const local = await loadTfjsModel(dir);
      const a = await PretrainedExtractor.create(model, { inputSize: 16, output: 'features' });
      const b = await PretrainedExtractor.create(local, { inputSize: 16, output: 'features' });
      expect(a.spec()).toEqual(b.spec()); // the same weights, by fingerprint
      expect(Array.from((await a.extract([image(9)]))[0])).toEqual(Array.from((await b.extract([image(9)]))[0]));
      await expect(loadTfjsModel(`http://127.0.0.1:${port}/missing/model.json`)).rejects.toThrow(/answered 404/);
    } finally {
      server.close();
    }
  });

  it('refuses a manifest naming weights outside its folder, and a model that does not run at the size given', async () => {
    const kernel = new Float32Array(108);
    await expect(loadTfjsModel(await saveGraph(kernel, ['../../etc/passwd']))).rejects.toThrow(
      /outside the model's folder/,
    );
    const model = await loadTfjsModel(await saveGraph(kernel));
    await expect(PretrainedExtractor.create(model, { inputSize: 4.5 })).rejects.toThrow(/inputSize must be an integer/);
    await expect(loadTfjsModel(join(tmpdir(), 'no-such-model-dir'))).rejects.toThrow(/cannot read/);
  });
});
