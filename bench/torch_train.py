"""PyTorch reference for `pnpm bench:train`: training and encoder images/s of the notebook's models.

Prints one JSON line per (model, size, threads). Uses scripts/fixtures/models.py, the same modules cbir mirrors.
Usage: /usr/bin/python3 bench/torch_train.py --threads 2 --batch 32 --steps 5
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


def bench(model_cls, size, batch, steps, threads):
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

    step()  # warm-up
    t = time.perf_counter()
    for _ in range(steps):
        step()
    train = batch * steps / (time.perf_counter() - t)
    model.eval()
    with torch.no_grad():
        model.encoder(x)
        t = time.perf_counter()
        for _ in range(steps):
            model.encoder(x)
        encode = batch * steps / (time.perf_counter() - t)
    return {'model': model_cls.__name__, 'torch': torch.__version__, 'size': size, 'threads': threads, 'batch': batch,
            'trainImagesPerSec': train, 'encodeImagesPerSec': encode,
            'peakRssMB': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


if __name__ == '__main__':
    p = argparse.ArgumentParser()
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--batch', type=int, default=32)
    p.add_argument('--steps', type=int, default=5)
    p.add_argument('--size', type=int, default=128)
    a = p.parse_args()
    for cls in (ConvAutoencoderV2, ConvAutoencoder):
        print(json.dumps(bench(cls, a.size, a.batch, a.steps, a.threads)), flush=True)
