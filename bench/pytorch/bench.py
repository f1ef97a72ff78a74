#!/usr/bin/python3
"""Times the PyTorch reference (ugatit_reference.py, proven equivalent to the official code by --check).

  /usr/bin/python3 bench/pytorch/bench.py [--infer] [--train] [--batches 1,4,8] [--infer-runs 3]
                                          [--ngf 32,64] [--train-runs 2] [--train-warmup 1] [--threads N]

--infer: light generator, ngf 64, 4 blocks, 256², eval, torch.no_grad; per-image ms (median of
         --infer-runs after one warm-up run) for each batch size.
--train: one full official iteration (D step + G step, both Adam steps, ρ clipping), light, 4 blocks,
         128², batch 1, ndf = ngf; median ms of --train-runs after --train-warmup iterations.
Neither flag: both. Random weights and inputs (speed does not depend on them). Threads default to the
number of cores. Prints one JSON object on stdout.
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ugatit_reference import ResnetGenerator, UGATIT  # noqa: E402


def ms_since(t0):
    return (time.perf_counter() - t0) * 1000.0


def bench_infer(batches, runs):
    torch.manual_seed(1)
    net = ResnetGenerator(3, 3, ngf=64, n_blocks=4, img_size=256, light=True).eval()
    out = {}
    cpu_out = {}
    with torch.no_grad():
        for b in batches:
            x = torch.rand(b, 3, 256, 256) * 2 - 1
            net(x)  # warm-up
            times = []
            cpu = []
            for _ in range(runs):
                c0 = time.process_time()
                t0 = time.perf_counter()
                net(x)
                times.append(ms_since(t0) / b)
                cpu.append((time.process_time() - c0) * 1000.0 / b)
            out[f'batch{b}'] = round(statistics.median(times), 1)
            cpu_out[f'batch{b}'] = round(statistics.median(cpu), 1)
            print(json.dumps({'infer': f'batch{b}', 'msPerImage': out[f'batch{b}'], 'runs': [round(t, 1) for t in times]}), file=sys.stderr, flush=True)
    return out, cpu_out


def bench_train(widths, runs, warmup, img_size=128):
    results = []
    for ngf in widths:
        torch.manual_seed(1)
        sut = UGATIT(light=True, ngf=ngf, ndf=ngf, n_blocks=4, img_size=img_size)
        sut.train()
        a = torch.rand(1, 3, img_size, img_size) * 2 - 1
        b = torch.rand(1, 3, img_size, img_size) * 2 - 1
        warm = []
        for _ in range(warmup):
            t0 = time.perf_counter()
            sut.step(a, b)
            warm.append(ms_since(t0))
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            sut.step(a, b)
            times.append(ms_since(t0))
        r = {'imgSize': img_size, 'ngf': ngf, 'ndf': ngf, 'light': True, 'nRes': 4, 'batch': 1,
             'msPerIterationMedian': round(statistics.median(times)), 'msPerIterationMin': round(min(times)),
             'runs': [round(t) for t in times], 'warmupMs': [round(t) for t in warm]}
        print(json.dumps(r), file=sys.stderr, flush=True)
        results.append(r)
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--infer', action='store_true')
    ap.add_argument('--train', action='store_true')
    ap.add_argument('--batches', default='1,4,8')
    ap.add_argument('--infer-runs', type=int, default=3)
    ap.add_argument('--ngf', default='32,64')
    ap.add_argument('--train-runs', type=int, default=2)
    ap.add_argument('--train-warmup', type=int, default=1)
    ap.add_argument('--threads', type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    both = not args.infer and not args.train
    torch.set_num_threads(args.threads)
    result = {'bench': 'pytorch-reference', 'torch': torch.__version__, 'threads': torch.get_num_threads(),
              'cpus': os.cpu_count(), 'cpu': platform.processor() or platform.machine(),
              'loadavg1': round(os.getloadavg()[0], 2)}
    if args.infer or both:
        result['generatorMsPerImage'], result['generatorCpuMsPerImage'] = bench_infer([int(b) for b in args.batches.split(',')], args.infer_runs)
    if args.train or both:
        result['train'] = bench_train([int(n) for n in args.ngf.split(',')], args.train_runs, args.train_warmup)
    print(json.dumps(result, indent=2))


if __name__ == '__main__':
    main()
