#!/usr/bin/env python3
"""Reference training trajectories from PyTorch for test/train/torch-trajectory.test.ts.

Two small networks (an MLP with batch norm and dropout, a CNN with batch norm) are trained for
50 steps by torch.optim.SGD (momentum, weight decay; plain and Nesterov) and torch.optim.Adam
(weight decay), each from the same initial weights on the same minibatches: the inputs, the
minibatch order and the dropout masks are written to the fixture, so losscape's trainer can be fed
exactly the same.
The batch size does not divide the data set, so every epoch ends on a short batch.

The data and initial weights are float32 numbers; training runs in float64, so the reference is
the exact trajectory (to ~1e-15), free of one implementation's float32 rounding.

    /usr/bin/python3 scripts/torch-trajectory.py   # Debian: apt-get install python3-torch python3-h5py

writes test/fixtures/torch-trajectory/trajectory.h5 (~160 KB):
  <net>/x, <net>/y                 the data set (x: [N, ...input shape], y: class labels)
  <net>/indices, <net>/sizes       minibatch s = indices[sum(sizes[:s]) : sum(sizes[:s+1])]
  <net>/dropout/<k>                keep masks (0/1) of dropout site k, one row per sample of each step
  <net>/init/<param>               initial state_dict (losscape's parameter names; float32)
  <net>/<opt>/loss                 the mean minibatch loss of every step, before its update (float64)
  <net>/<opt>/final/<param>        the state_dict after the last step, running statistics included (float64)
"""
import os

import h5py
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

STEPS = 50
BATCH = 16
N = 40
CLASSES = 3
P_DROP = 0.2
OPTIMIZERS = {
    'sgd': lambda params: torch.optim.SGD(params, lr=0.05, momentum=0.9, weight_decay=5e-4),
    'adam': lambda params: torch.optim.Adam(params, lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-4),
    'nesterov': lambda params: torch.optim.SGD(params, lr=0.05, momentum=0.9, weight_decay=5e-4, nesterov=True),
}
OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'torch-trajectory', 'trajectory.h5')


class Mlp(nn.Module):
    """losscape's { type: mlp, hidden: [16, 12], batchNorm: true, dropout: 0.2 }: dense → BN → relu → dropout."""

    def __init__(self, d_in):
        super().__init__()
        self.fc1 = nn.Linear(d_in, 16)
        self.bn1 = nn.BatchNorm1d(16)
        self.fc2 = nn.Linear(16, 12)
        self.bn2 = nn.BatchNorm1d(12)
        self.fc3 = nn.Linear(12, CLASSES)
        self.sites = [16, 12]

    def forward(self, x, masks):
        h = x.reshape(x.shape[0], -1)
        h = F.relu(self.bn1(self.fc1(h))) * masks[0] / (1 - P_DROP)
        h = F.relu(self.bn2(self.fc2(h))) * masks[1] / (1 - P_DROP)
        return self.fc3(h)


class Cnn(nn.Module):
    """losscape's { type: cnn, channels: [4, 6], kernel: 3, batchNorm: true }: conv → BN → relu → max pool 2, then dense."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3)
        self.bn1 = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 6, 3)
        self.bn2 = nn.BatchNorm2d(6)
        self.fc1 = nn.Linear(6 * 2 * 2, CLASSES)
        self.sites = []

    def forward(self, x, _masks):
        h = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        h = F.max_pool2d(F.relu(self.bn2(self.conv2(h))), 2)
        return self.fc1(h.reshape(h.shape[0], -1))


def state(model):
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items() if not k.endswith('num_batches_tracked')}


def minibatches(gen):
    """STEPS minibatches: a fresh permutation per epoch cut into BATCH-sized pieces (the last one short)."""
    out = []
    while len(out) < STEPS:
        perm = torch.randperm(N, generator=gen)
        out += [perm[s : s + BATCH] for s in range(0, N, BATCH)]
    return out[:STEPS]


def trajectory(net, init, x, y, batches, masks, make_opt):
    net.load_state_dict({k: v.double() for k, v in init.items()}, strict=False)
    net.double().train()
    x = x.double()
    masks = [[m.double() for m in site] for site in masks]
    opt = make_opt(net.parameters())
    losses = []
    for s, idx in enumerate(batches):
        opt.zero_grad()
        loss = F.cross_entropy(net(x[idx], [m[s] for m in masks]), y[idx])
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return np.array(losses, dtype=np.float64), state(net)


def write_net(f, name, net, x, gen):
    w = torch.randn(x[0].numel(), CLASSES, generator=gen)
    y = (x.reshape(N, -1) @ w).argmax(1)
    batches = minibatches(gen)
    masks = [[(torch.rand(len(b), d, generator=gen) >= P_DROP).float() for b in batches] for d in net.sites]
    init = {k: torch.from_numpy(v) for k, v in state(net).items()}
    g = f.create_group(name)
    g['x'] = x.numpy().astype(np.float32)
    g['y'] = y.numpy().astype(np.int32)
    g['indices'] = torch.cat(batches).numpy().astype(np.int32)
    g['sizes'] = np.array([len(b) for b in batches], dtype=np.int32)
    for k, site in enumerate(masks):
        g[f'dropout/{k}'] = torch.cat(site).numpy().astype(np.uint8)
    for k, v in init.items():
        g[f'init/{k}'] = v.numpy().astype(np.float32)
    for opt_name, make_opt in OPTIMIZERS.items():
        losses, final = trajectory(net, init, x, y, batches, masks, make_opt)
        g[f'{opt_name}/loss'] = losses
        for k, v in final.items():
            g[f'{opt_name}/final/{k}'] = v


def main():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    with h5py.File(OUT, 'w') as f:
        f.attrs['torch'] = str(torch.__version__)
        f.attrs['steps'] = STEPS
        f.attrs['batch'] = BATCH
        write_net(f, 'mlp', Mlp(20), torch.randn(N, 20, generator=gen), gen)
        write_net(f, 'cnn', Cnn(), torch.randn(N, 1, 14, 14, generator=gen), gen)
    print(f'wrote {os.path.normpath(OUT)} ({os.path.getsize(OUT)} bytes)')


if __name__ == '__main__':
    main()
