"""PyTorch reference for `pnpm bench:train`: training and encoder images/s of the notebook's models.

Prints one JSON line per (model, size, threads). Uses scripts/fixtures/models.py, the same modules cbir mirrors.
Measured as bench/train.ts measures cbir: a warm-up (at least one call and --warmup-seconds), then calls until both
--steps calls and --min-seconds (3 s for training, 2 s for encoding, as for cbir) have passed.
Usage: /usr/bin/python3 bench/torch_train.py --threads 2 --batch 32 [--size 128] [--model V2|V1|both]
One model per process (--model) gives each its own peak RSS.
"""
import argparse
import json
import os
import resource
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'scripts', 'fixtures'))
from models import ConvAutoencoder, ConvAutoencoderV2  # noqa: E402


def rate(fn, steps, min_seconds, warmup_seconds):
    """Calls per second of fn after a warm-up, over at least `steps` calls and `min_seconds`."""
    w = time.perf_counter()
    fn()
    while time.perf_counter() - w < warmup_seconds:
        fn()
    n = 0
    t = time.perf_counter()
    while n < steps or time.perf_counter() - t < min_seconds:
        fn()
        n += 1
    return n / (time.perf_counter() - t)


def bench(model_cls, size, batch, steps, threads, min_seconds, warmup_seconds):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = model_cls()
    opt = torch.optim.Adam(model.parameters(), lr=3e-4)
    x = torch.rand(batch, 3, size, size) * 2 - 1

    def step():
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), x)
        loss.backward()
        opt.step()
        return loss.item()

    model.eval()
    with torch.no_grad():
        encode = batch * rate(lambda: model.encoder(x), steps, 2 * min_seconds / 3, warmup_seconds)
    model.train()
    train = batch * rate(step, steps, min_seconds, warmup_seconds)
    # cbir's names (the notebook's class is ConvAutoencoder_v2).
    name = {'ConvAutoencoder_v2': 'ConvAutoencoderV2'}.get(model_cls.__name__, model_cls.__name__)
    return {'model': name, 'torch': torch.__version__, 'size': size, 'threads': threads, 'batch': batch,
            'trainImagesPerSec': train, 'encodeImagesPerSec': encode,
            'peakRssMB': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


if __name__ == '__main__':
    p = argparse.ArgumentParser()
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--batch', type=int, default=32)
    p.add_argument('--steps', type=int, default=3)
    p.add_argument('--min-seconds', type=float, default=3)
    p.add_argument('--warmup-seconds', type=float, default=3)
    p.add_argument('--size', type=int, default=128)
    p.add_argument('--model', choices=['V2', 'V1', 'both'], default='both')
    a = p.parse_args()
    for cls in {'V2': [ConvAutoencoderV2], 'V1': [ConvAutoencoder], 'both': [ConvAutoencoderV2, ConvAutoencoder]}[a.model]:
        print(json.dumps(bench(cls, a.size, a.batch, a.steps, a.threads, a.min_seconds, a.warmup_seconds)), flush=True)
