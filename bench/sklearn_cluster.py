"""scikit-learn side of `pnpm bench:cluster`: times the same jobs on the same data as bench/cluster.ts.

Usage: /usr/bin/python3 bench/sklearn_cluster.py DIR   (DIR holds the .npy files bench/cluster.ts wrote)
Prints one JSON object: job name -> {seconds (median of 3 runs), inertia or score}.
"""
import json
import os
import sys
import time

import numpy as np
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.metrics import silhouette_score


def timed(fn, runs=3):
    """The median time of `runs` calls (as bench/cluster.ts times its side), and the last call's value."""
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 2], value


def main(d):
    jobs = json.load(open(os.path.join(d, 'jobs.json')))
    out = {}
    for job in jobs:
        x = np.load(os.path.join(d, job['data']))
        if job['kind'] == 'kmeans':
            secs, inertias = timed(lambda: [KMeans(n_clusters=k, n_init=job['nInit'], random_state=0).fit(x).inertia_ for k in job['ks']])
            out[job['name']] = {'seconds': secs, 'value': float(np.mean(inertias))}
        elif job['kind'] == 'minibatch':
            secs, inertias = timed(lambda: [MiniBatchKMeans(n_clusters=k, batch_size=job['batchSize'], n_init=job['nInit'], random_state=0).fit(x).inertia_ for k in job['ks']])
            out[job['name']] = {'seconds': secs, 'value': float(np.mean(inertias))}
        elif job['kind'] == 'silhouette':
            labels = np.load(os.path.join(d, job['labels']))
            secs, score = timed(lambda: silhouette_score(x, labels))
            out[job['name']] = {'seconds': secs, 'value': float(score)}
    print(json.dumps(out))


if __name__ == '__main__':
    main(sys.argv[1])
