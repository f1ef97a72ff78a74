#!/usr/bin/python3
"""A PyTorch re-implementation of U-GAT-IT as the official PyTorch code (znxlwm/UGATIT-pytorch) defines it.

Written from the project's specification (/work/shared/reference/ugatit.md), not copied from the official
code. Module and parameter names follow the official state_dict layout, so official checkpoints
(`*_params_*.pt`: a dict of six state_dicts) load with strict=True.

  /usr/bin/python3 bench/pytorch/ugatit_reference.py --check

proves the equivalence against the fixtures the official code produced (../shared/fixtures relative to
the repository root): generator and discriminator outputs, and one full training iteration (losses and
ρ after the generator step). Prints one JSON object; exit status 1 when anything is off.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import spectral_norm

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
SHARED = os.path.join(REPO_ROOT, '..', 'shared')
EPS = 1e-5


# ----------------------------------------------------------------------------------------------------
# Normalisations (unbiased variance, as torch.var's default; ε inside the square root)

def _instance_and_layer(x):
    mu_i = x.mean(dim=(2, 3), keepdim=True)
    var_i = x.var(dim=(2, 3), keepdim=True)
    mu_l = x.mean(dim=(1, 2, 3), keepdim=True)
    var_l = x.var(dim=(1, 2, 3), keepdim=True)
    return (x - mu_i) / torch.sqrt(var_i + EPS), (x - mu_l) / torch.sqrt(var_l + EPS)


class AdaILN(nn.Module):
    """ρ-mix of instance and layer normalisation; γ, β (B×C) come from the generator's MLP."""

    def __init__(self, channels):
        super().__init__()
        self.rho = nn.Parameter(torch.full((1, channels, 1, 1), 0.9))

    def forward(self, x, gamma, beta):
        xi, xl = _instance_and_layer(x)
        mixed = self.rho * xi + (1.0 - self.rho) * xl
        return mixed * gamma[:, :, None, None] + beta[:, :, None, None]


class ILN(nn.Module):
    """ρ-mix of instance and layer normalisation with learnable per-channel γ, β."""

    def __init__(self, channels):
        super().__init__()
        self.rho = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.gamma = nn.Parameter(torch.ones(1, channels, 1, 1))
        self.beta = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, x):
        xi, xl = _instance_and_layer(x)
        return (self.rho * xi + (1.0 - self.rho) * xl) * self.gamma + self.beta


# ----------------------------------------------------------------------------------------------------
# Generator

def _conv_in_relu(cin, cout, k, stride, pad):
    """RPad → bias-free conv → IN(affine=False) → ReLU, as four Sequential entries."""
    return [nn.ReflectionPad2d(pad), nn.Conv2d(cin, cout, k, stride, 0, bias=False), nn.InstanceNorm2d(cout), nn.ReLU(True)]


class ResnetBlock(nn.Module):
    def __init__(self, dim):
        super().__init__()
        body = _conv_in_relu(dim, dim, 3, 1, 1)
        body += [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, 1, 0, bias=False), nn.InstanceNorm2d(dim)]
        self.conv_block = nn.Sequential(*body)

    def forward(self, x):
        return x + self.conv_block(x)


class ResnetAdaILNBlock(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.pad1 = nn.ReflectionPad2d(1)
        self.conv1 = nn.Conv2d(dim, dim, 3, 1, 0, bias=False)
        self.norm1 = AdaILN(dim)
        self.relu1 = nn.ReLU(True)
        self.pad2 = nn.ReflectionPad2d(1)
        self.conv2 = nn.Conv2d(dim, dim, 3, 1, 0, bias=False)
        self.norm2 = AdaILN(dim)

    def forward(self, x, gamma, beta):
        h = self.relu1(self.norm1(self.conv1(self.pad1(x)), gamma, beta))
        h = self.norm2(self.conv2(self.pad2(h)), gamma, beta)
        return x + h


class ResnetGenerator(nn.Module):
    """Returns (image, cam_logit B×2, heatmap B×1×H/4×W/4)."""

    def __init__(self, input_nc=3, output_nc=3, ngf=64, n_blocks=4, img_size=256, light=False):
        super().__init__()
        self.light = light
        self.n_blocks = n_blocks
        c = ngf * 4  # bottleneck width after two downsamplings
        down = _conv_in_relu(input_nc, ngf, 7, 1, 3)
        down += _conv_in_relu(ngf, ngf * 2, 3, 2, 1)
        down += _conv_in_relu(ngf * 2, c, 3, 2, 1)
        down += [ResnetBlock(c) for _ in range(n_blocks)]
        self.DownBlock = nn.Sequential(*down)

        self.gap_fc = nn.Linear(c, 1, bias=False)
        self.gmp_fc = nn.Linear(c, 1, bias=False)
        self.conv1x1 = nn.Conv2d(2 * c, c, 1, 1, bias=True)
        self.relu = nn.ReLU(True)

        mlp_in = c if light else (img_size // 4) * (img_size // 4) * c
        self.FC = nn.Sequential(nn.Linear(mlp_in, c, bias=False), nn.ReLU(True), nn.Linear(c, c, bias=False), nn.ReLU(True))
        self.gamma = nn.Linear(c, c, bias=False)
        self.beta = nn.Linear(c, c, bias=False)

        for i in range(n_blocks):
            setattr(self, f'UpBlock1_{i + 1}', ResnetAdaILNBlock(c))

        up = []
        width = c
        for _ in range(2):
            up += [nn.Upsample(scale_factor=2, mode='nearest'), nn.ReflectionPad2d(1),
                   nn.Conv2d(width, width // 2, 3, 1, 0, bias=False), ILN(width // 2), nn.ReLU(True)]
            width //= 2
        up += [nn.ReflectionPad2d(3), nn.Conv2d(width, output_nc, 7, 1, 0, bias=False), nn.Tanh()]
        self.UpBlock2 = nn.Sequential(*up)

    def forward(self, x):
        e = self.DownBlock(x)
        b = e.shape[0]
        w_gap = self.gap_fc.weight  # 1×C
        w_gmp = self.gmp_fc.weight
        l_gap = self.gap_fc(F.adaptive_avg_pool2d(e, 1).view(b, -1))
        l_gmp = self.gmp_fc(F.adaptive_max_pool2d(e, 1).view(b, -1))
        cam_logit = torch.cat([l_gap, l_gmp], 1)
        x = torch.cat([e * w_gap[0][None, :, None, None], e * w_gmp[0][None, :, None, None]], 1)
        x = self.relu(self.conv1x1(x))
        heatmap = x.sum(dim=1, keepdim=True)
        pooled = F.adaptive_avg_pool2d(x, 1) if self.light else x
        h = self.FC(pooled.view(b, -1))
        gamma, beta = self.gamma(h), self.beta(h)
        for i in range(self.n_blocks):
            x = getattr(self, f'UpBlock1_{i + 1}')(x, gamma, beta)
        return self.UpBlock2(x), cam_logit, heatmap


# ----------------------------------------------------------------------------------------------------
# Discriminator

class Discriminator(nn.Module):
    """Spectral-normalised PatchGAN with a CAM head. Returns (patch logits, cam_logit B×2, heatmap)."""

    def __init__(self, input_nc=3, ndf=64, n_layers=5):
        super().__init__()
        layers = []
        width_in, width = input_nc, ndf
        # first conv + (n_layers − 3) further stride-2 convs, each doubling the width
        for i in range(n_layers - 2):
            layers += [nn.ReflectionPad2d(1), spectral_norm(nn.Conv2d(width_in, width, 4, 2, 0, bias=True)), nn.LeakyReLU(0.2, True)]
            width_in, width = width, width * 2
        # one stride-1 conv, doubling again
        layers += [nn.ReflectionPad2d(1), spectral_norm(nn.Conv2d(width_in, width, 4, 1, 0, bias=True)), nn.LeakyReLU(0.2, True)]
        self.model = nn.Sequential(*layers)
        c = width
        self.gap_fc = spectral_norm(nn.Linear(c, 1, bias=False))
        self.gmp_fc = spectral_norm(nn.Linear(c, 1, bias=False))
        self.conv1x1 = nn.Conv2d(2 * c, c, 1, 1, bias=True)
        self.leaky_relu = nn.LeakyReLU(0.2, True)
        self.pad = nn.ReflectionPad2d(1)
        self.conv = spectral_norm(nn.Conv2d(c, 1, 4, 1, 0, bias=False))

    def forward(self, inp):
        e = self.model(inp)
        b = e.shape[0]
        l_gap = self.gap_fc(F.adaptive_avg_pool2d(e, 1).view(b, -1))
        l_gmp = self.gmp_fc(F.adaptive_max_pool2d(e, 1).view(b, -1))
        cam_logit = torch.cat([l_gap, l_gmp], 1)
        # The official CAM scaling uses the raw (not normalised) weight: `weight_orig`.
        s_gap = self.gap_fc.weight_orig[0][None, :, None, None]
        s_gmp = self.gmp_fc.weight_orig[0][None, :, None, None]
        x = self.leaky_relu(self.conv1x1(torch.cat([e * s_gap, e * s_gmp], 1)))
        heatmap = x.sum(dim=1, keepdim=True)
        return self.conv(self.pad(x)), cam_logit, heatmap


# ----------------------------------------------------------------------------------------------------
# Training iteration (official order: D step, then G step)

ADV_W, CYCLE_W, IDENTITY_W, CAM_W = 1.0, 10.0, 10.0, 1000.0


class UGATIT:
    def __init__(self, light=True, ngf=64, ndf=None, n_blocks=4, img_size=256, lr=1e-4, weight_decay=1e-4):
        ndf = ngf if ndf is None else ndf
        self.genA2B = ResnetGenerator(3, 3, ngf, n_blocks, img_size, light)
        self.genB2A = ResnetGenerator(3, 3, ngf, n_blocks, img_size, light)
        self.disGA = Discriminator(3, ndf, 7)
        self.disGB = Discriminator(3, ndf, 7)
        self.disLA = Discriminator(3, ndf, 5)
        self.disLB = Discriminator(3, ndf, 5)
        g_params = list(self.genA2B.parameters()) + list(self.genB2A.parameters())
        d_params = [p for d in self.discriminators() for p in d.parameters()]
        self.G_optim = torch.optim.Adam(g_params, lr=lr, betas=(0.5, 0.999), weight_decay=weight_decay)
        self.D_optim = torch.optim.Adam(d_params, lr=lr, betas=(0.5, 0.999), weight_decay=weight_decay)

    def discriminators(self):
        return [self.disGA, self.disGB, self.disLA, self.disLB]

    def networks(self):
        return {'genA2B': self.genA2B, 'genB2A': self.genB2A, 'disGA': self.disGA, 'disGB': self.disGB,
                'disLA': self.disLA, 'disLB': self.disLB}

    def load(self, path):
        params = torch.load(path, map_location='cpu')
        for name, net in self.networks().items():
            net.load_state_dict(params[name], strict=True)

    def train(self):
        for net in self.networks().values():
            net.train()

    def step(self, real_A, real_B):
        """One iteration; returns the loss terms (Python floats) under the official names."""
        mse, l1, bce = F.mse_loss, F.l1_loss, F.binary_cross_entropy_with_logits
        ones, zeros = torch.ones_like, torch.zeros_like
        L = {}

        # Discriminator step. The fakes are not detached (as in the official code).
        self.D_optim.zero_grad()
        fake_A2B, _, _ = self.genA2B(real_A)
        fake_B2A, _, _ = self.genB2A(real_B)
        real_out = {'GA': self.disGA(real_A), 'LA': self.disLA(real_A), 'GB': self.disGB(real_B), 'LB': self.disLB(real_B)}
        fake_out = {'GA': self.disGA(fake_B2A), 'LA': self.disLA(fake_B2A), 'GB': self.disGB(fake_A2B), 'LB': self.disLB(fake_A2B)}
        d_terms = {}
        for k in ('GA', 'LA', 'GB', 'LB'):
            (rp, rq, _), (fp, fq, _) = real_out[k], fake_out[k]
            d_terms[f'D_ad_loss_{k}'] = mse(rp, ones(rp)) + mse(fp, zeros(fp))
            d_terms[f'D_ad_cam_loss_{k}'] = mse(rq, ones(rq)) + mse(fq, zeros(fq))
        d_loss = ADV_W * sum(d_terms.values())
        d_loss.backward()
        self.D_optim.step()
        L.update({k: v.item() for k, v in d_terms.items()})
        L['Discriminator_loss'] = d_loss.item()

        # Generator step.
        self.G_optim.zero_grad()
        fake_A2B, cam_A2B, _ = self.genA2B(real_A)
        fake_B2A, cam_B2A, _ = self.genB2A(real_B)
        fake_A2B2A, _, _ = self.genB2A(fake_A2B)
        fake_B2A2B, _, _ = self.genA2B(fake_B2A)
        fake_A2A, cam_A2A, _ = self.genB2A(real_A)
        fake_B2B, cam_B2B, _ = self.genA2B(real_B)
        adv = {'GA': self.disGA(fake_B2A), 'LA': self.disLA(fake_B2A), 'GB': self.disGB(fake_A2B), 'LB': self.disLB(fake_A2B)}
        g_terms = {}
        for k in ('GA', 'LA', 'GB', 'LB'):
            p, q, _ = adv[k]
            g_terms[f'G_ad_loss_{k}'] = mse(p, ones(p))
            g_terms[f'G_ad_cam_loss_{k}'] = mse(q, ones(q))
        g_terms['G_recon_loss_A'] = l1(fake_A2B2A, real_A)
        g_terms['G_recon_loss_B'] = l1(fake_B2A2B, real_B)
        g_terms['G_identity_loss_A'] = l1(fake_A2A, real_A)
        g_terms['G_identity_loss_B'] = l1(fake_B2B, real_B)
        g_terms['G_cam_loss_A'] = bce(cam_B2A, ones(cam_B2A)) + bce(cam_A2A, zeros(cam_A2A))
        g_terms['G_cam_loss_B'] = bce(cam_A2B, ones(cam_A2B)) + bce(cam_B2B, zeros(cam_B2B))
        per_domain = []
        for d in ('A', 'B'):
            adv_sum = sum(g_terms[f'G_ad{t}_loss_{s}{d}'] for t in ('', '_cam') for s in ('G', 'L'))
            per_domain.append(ADV_W * adv_sum + CYCLE_W * g_terms[f'G_recon_loss_{d}']
                              + IDENTITY_W * g_terms[f'G_identity_loss_{d}'] + CAM_W * g_terms[f'G_cam_loss_{d}'])
        g_loss = per_domain[0] + per_domain[1]
        g_loss.backward()
        self.G_optim.step()
        with torch.no_grad():  # ρ clipping to [0, 1]
            for gen in (self.genA2B, self.genB2A):
                for m in gen.modules():
                    if hasattr(m, 'rho'):
                        m.rho.clamp_(0.0, 1.0)
        L.update({k: v.item() for k, v in g_terms.items()})
        L['Generator_loss'] = g_loss.item()
        return L


# ----------------------------------------------------------------------------------------------------
# Equivalence check against the official fixtures

def read_f32(path, shape):
    return torch.from_numpy(np.fromfile(path, dtype='<f4').reshape(shape).copy())


def read_safetensors(path):
    """8-byte little-endian header length, JSON header, raw data (float32 only here)."""
    with open(path, 'rb') as f:
        (n,) = struct.unpack('<Q', f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, spec in header.items():
        if name == '__metadata__':
            continue
        if spec['dtype'] != 'F32':
            raise ValueError(f'{name}: dtype {spec["dtype"]} not supported')
        a, b = spec['data_offsets']
        out[name] = torch.from_numpy(np.frombuffer(data[a:b], dtype='<f4').reshape(spec['shape']).copy())
    return out


def check_forward(case_dir):
    meta = json.load(open(os.path.join(case_dir, 'meta.json')))
    cfg, files = meta['config'], meta['files']
    params = torch.load(os.path.join(case_dir, 'params.pt'), map_location='cpu')
    x_gen = read_f32(os.path.join(case_dir, 'input_gen.f32'), files['input_gen.f32'])
    x_dis = read_f32(os.path.join(case_dir, 'input_dis.f32'), files['input_dis.f32'])
    result = {}
    for name in ('genA2B', 'genB2A'):
        net = ResnetGenerator(3, 3, cfg['ngf'], cfg['n_blocks'], cfg['img_size'], cfg['light'])
        net.load_state_dict(params[name], strict=True)
        net.eval()
        with torch.no_grad():
            outs = net(x_gen)
        for part, got in zip(('image', 'cam_logit', 'heatmap'), outs):
            f = f'{name}_{part}.f32'
            want = read_f32(os.path.join(case_dir, f), files[f])
            result[f'{name}.{part}'] = float((got - want).abs().max())
    for name, n_layers in (('disGA', 7), ('disLA', 5)):
        net = Discriminator(3, cfg['ndf'], n_layers)
        net.load_state_dict(params[name], strict=True)
        net.eval()  # stored u, v: no power iteration
        with torch.no_grad():
            outs = net(x_dis)
        for part, got in zip(('patch', 'cam_logit', 'heatmap'), outs):
            f = f'{name}_{part}.f32'
            want = read_f32(os.path.join(case_dir, f), files[f])
            result[f'{name}.{part}'] = float((got - want).abs().max())
    return result


def check_train_step(case_dir):
    meta = json.load(open(os.path.join(case_dir, 'meta.json')))
    cfg = meta['config']
    tensors = read_safetensors(os.path.join(case_dir, 'step.safetensors'))
    torch.manual_seed(0)
    sut = UGATIT(light=cfg['light'], ngf=cfg['ngf'], ndf=cfg['ndf'], n_blocks=cfg['n_blocks'], img_size=cfg['img_size'])
    sut.load(os.path.join(case_dir, 'params_before.pt'))
    sut.train()
    losses = sut.step(tensors['real_A'], tensors['real_B'])
    rel = {k: abs(losses[k] - v) / max(1.0, abs(v)) for k, v in meta['losses'].items()}
    # ρ after the Adam step and clipping: proves the G optimiser step matches too.
    rho_diff = 0.0
    nets = sut.networks()
    state = {f'{n}.{k}': v for n, net in nets.items() for k, v in net.state_dict().items()}
    n_rho = 0
    for key, want in tensors.items():
        if key.startswith('after_G_step/') and key.endswith('.rho'):
            got = state[key[len('after_G_step/'):]]
            rho_diff = max(rho_diff, float((got - want.reshape(got.shape)).abs().max()))
            n_rho += 1
    return {'lossMaxRelDiff': max(rel.values()), 'worstLoss': max(rel, key=rel.get), 'losses': losses,
            'rhoAfterGStepMaxAbsDiff': rho_diff, 'rhoTensorsCompared': n_rho}


def run_check(tol_forward=1e-4, tol_loss=1e-4, tol_rho=1e-5):
    torch.set_num_threads(os.cpu_count() or 1)
    report = {'torch': torch.__version__, 'forward': {}, 'trainStep': {}}
    ok = True
    for case in ('light-ngf8-nb2-64', 'full-ngf8-nb2-64'):
        d = os.path.join(SHARED, 'fixtures', 'ugatit-torch', case)
        diffs = check_forward(d)
        passed = max(diffs.values()) <= tol_forward
        ok &= passed
        report['forward'][case] = {'maxAbsDiff': max(diffs.values()), 'passed': passed, 'perOutput': diffs}
    d = os.path.join(SHARED, 'fixtures', 'ugatit-train-step', 'light-ngf8-nb2-96')
    ts = check_train_step(d)
    passed = ts['lossMaxRelDiff'] <= tol_loss and ts['rhoAfterGStepMaxAbsDiff'] <= tol_rho and ts['rhoTensorsCompared'] > 0
    ok &= passed
    report['trainStep']['light-ngf8-nb2-96'] = {**ts, 'passed': passed}
    report['tolerances'] = {'forwardMaxAbs': tol_forward, 'lossRel': tol_loss, 'rhoAbs': tol_rho}
    report['equivalent'] = bool(ok)
    return report


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--check', action='store_true', help='compare with the official fixtures; exit 1 on mismatch')
    args = ap.parse_args()
    if not args.check:
        ap.print_help()
        return 2
    report = run_check()
    print(json.dumps(report, indent=2))
    return 0 if report['equivalent'] else 1


if __name__ == '__main__':
    sys.exit(main())
