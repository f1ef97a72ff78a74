#!/usr/bin/python3
"""PyTorch CUDA throughput of the light 256² generator (ngf 64, 4 blocks), images/s at batch 1, 8, 32, in fp32
and fp16 (autocast), eval + inference_mode, for comparison with bench/gpu/throughput.ts on the same card.

  python3 bench/pytorch/gpu_throughput.py [--batches 1,8,32] [--seconds 5]
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ugatit_reference import ResnetGenerator  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--batches', default='1,8,32')
    ap.add_argument('--seconds', type=float, default=5)
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print(json.dumps({'error': 'CUDA is not available to PyTorch'}))
        return
    torch.backends.cudnn.benchmark = True
    net = ResnetGenerator(3, 3, ngf=64, n_blocks=4, img_size=256, light=True).cuda().eval()
    out = {'card': torch.cuda.get_device_name(0), 'torch': torch.__version__, 'results': {}}
    for mode in ('fp32', 'fp16-autocast'):
        per = {}
        for b in [int(x) for x in args.batches.split(',')]:
            x = torch.rand(b, 3, 256, 256, device='cuda') * 2 - 1
            with torch.inference_mode(), torch.autocast('cuda', dtype=torch.float16, enabled=mode != 'fp32'):
                for _ in range(3):
                    net(x)
                torch.cuda.synchronize()
                times = []
                end = time.perf_counter() + args.seconds
                while time.perf_counter() < end or len(times) < 3:
                    t = time.perf_counter()
                    net(x)
                    torch.cuda.synchronize()
                    times.append(time.perf_counter() - t)
            times.sort()
            med = times[len(times) // 2]
            per[f'batch{b}'] = {'imagesPerSecond': round(b / med, 1), 'msPerBatch': round(med * 1000, 2), 'runs': len(times)}
        out['results'][mode] = per
    print(json.dumps(out, indent=2))


if __name__ == '__main__':
    main()
