#!/usr/bin/python3
"""Export one generator of an official-layout U-GAT-IT checkpoint with plain `torch.onnx.export`, as a
user of the official PyTorch code would: no metadata, a static input shape, the names chosen after what
the official ResnetGenerator returns (`out, cam_logit, heatmap`, see ugatit_reference.py).

  /usr/bin/python3 bench/pytorch/export_onnx.py [--params P] [--direction a2b|b2a] [--size 128] [-o OUT]

Defaults make the committed fixture test/fixtures/onnx/torch-light-ngf8-nb2-a2b-128.onnx from
../shared/fixtures/ugatit-torch/light-ngf8-nb2-64/params.pt (light, ngf 8, 2 blocks; a light generator
runs at any size, so it is exported at 128²). Prints one JSON line describing what was written.
"""
import argparse
import hashlib
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ugatit_reference import REPO_ROOT, SHARED, ResnetGenerator  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--params', default=os.path.join(SHARED, 'fixtures/ugatit-torch/light-ngf8-nb2-64/params.pt'))
    ap.add_argument('--direction', choices=['a2b', 'b2a'], default='a2b')
    ap.add_argument('--size', type=int, default=128)
    ap.add_argument('--ngf', type=int, default=8)
    ap.add_argument('--n-blocks', type=int, default=2)
    ap.add_argument('-o', '--out', default=os.path.join(REPO_ROOT, 'test/fixtures/onnx/torch-light-ngf8-nb2-a2b-128.onnx'))
    args = ap.parse_args()

    params = torch.load(args.params, map_location='cpu')
    net_name = 'genA2B' if args.direction == 'a2b' else 'genB2A'
    gen = ResnetGenerator(3, 3, args.ngf, args.n_blocks, args.size, light=True)
    gen.load_state_dict(params[net_name], strict=True)
    gen.eval()

    x = torch.zeros(1, 3, args.size, args.size)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    # Plain export: default opset, no dynamic axes, no metadata_props.
    torch.onnx.export(gen, (x,), args.out, input_names=['input'], output_names=['output', 'cam_logit', 'heatmap'])
    with open(args.out, 'rb') as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    print(json.dumps({'out': os.path.relpath(args.out, REPO_ROOT), 'bytes': os.path.getsize(args.out), 'sha256': digest,
                      'network': net_name, 'size': args.size, 'torch': torch.__version__}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
