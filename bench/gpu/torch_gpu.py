"""The GPU check's PyTorch side: ConvAutoencoder_v2 training (MSE + Adam 3e-4) and encoding images/s on the same card.

float32 with TF32 off, as cbir computes. One JSON line per size: {"kind": "torch", "size", "batch", "device", "train",
"encode", "torch"}. Runs on the CPU where there is no CUDA (the check's small mode).
Usage: python3 bench/gpu/torch_gpu.py --sizes 128,512 --batch 32 --steps 3
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', 'scripts', 'fixtures'))
from models import ConvAutoencoderV2  # noqa: E402


def seconds(fn, steps, sync):
    """Seconds per call after warm-up calls (cuDNN picks its algorithms on the first)."""
    for _ in range(2):
        fn()
    sync()
    t = time.perf_counter()
    for _ in range(steps):
        fn()
    sync()
    return (time.perf_counter() - t) / steps


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--sizes', default='128,512')
    p.add_argument('--batch', type=int, default=32)
    p.add_argument('--steps', type=int, default=3)
    a = p.parse_args()
    dev = 'cuda' if torch.cuda.is_available() else 'cpu'
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    sync = torch.cuda.synchronize if dev == 'cuda' else (lambda: None)
    for size in [int(s) for s in a.sizes.split(',')]:
        torch.manual_seed(0)
        model = ConvAutoencoderV2().to(dev)
        opt = torch.optim.Adam(model.parameters(), lr=3e-4)
        x = torch.rand(a.batch, 3, size, size, device=dev) * 2 - 1

        def step():
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.mse_loss(model(x), x)
            loss.backward()
            opt.step()

        train = seconds(step, a.steps, sync)
        with torch.no_grad():
            encode = seconds(lambda: model.encoder(x), a.steps, sync)
        name = torch.cuda.get_device_name() if dev == 'cuda' else 'cpu'
        print(json.dumps({'kind': 'torch', 'size': size, 'batch': a.batch, 'device': name, 'torch': torch.__version__,
                          'train': a.batch / train, 'encode': a.batch / encode}), flush=True)
        del model, opt, x
        if dev == 'cuda':
            torch.cuda.empty_cache()


if __name__ == '__main__':
    main()
