#!/usr/bin/env python3
"""Runs imagehash (github:JohannesBuchner/imagehash, from a checkout: it is not packaged in Debian and PyPI is not
reachable here) on a folder, as a peer of bench:dedup.

Usage: imagehash_peer.py --src CHECKOUT --data DIR [--method phash|dhash|average_hash|whash] [--processes N]
Prints {file: hex} (files relative to DIR) on stdout; {"images": n, "encode_s": s} on stderr. Images are opened with
Pillow as imagehash's README does (Image.open), on N processes (default: every core), its best on this machine.
"""
import argparse, json, os, sys, time
from multiprocessing import Pool

ap = argparse.ArgumentParser()
ap.add_argument('--src', required=True)
ap.add_argument('--data', required=True)
ap.add_argument('--method', default='phash')
ap.add_argument('--processes', type=int, default=os.cpu_count())
a = ap.parse_args()
sys.path.insert(0, a.src)
import imagehash  # noqa: E402
from PIL import Image  # noqa: E402

FN = getattr(imagehash, a.method)


def one(path):
    with Image.open(path) as im:
        return str(FN(im))


files = sorted(
    os.path.relpath(os.path.join(d, f), a.data)
    for d, _, fs in os.walk(a.data)
    for f in fs
    if f.lower().endswith(('.jpg', '.jpeg', '.png'))
)
t0 = time.time()
with Pool(a.processes) as pool:
    hashes = pool.map(one, [os.path.join(a.data, f) for f in files], chunksize=16)
t1 = time.time()
json.dump(dict(zip(files, hashes)), sys.stdout)
print(json.dumps({'images': len(files), 'encode_s': round(t1 - t0, 3)}), file=sys.stderr)
