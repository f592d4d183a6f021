#!/usr/bin/env python3
"""Train the zoo's CIFAR-style ResNet (or its plain twin) on Fashion-MNIST with PyTorch, with the
recipe of examples/paper/resnet-fashion.yaml, and print one JSON line per epoch.

A side-by-side reference for losscape's own trainer: does a net fail to train because of the
recipe, or because of losscape? Same architecture as src/model/zoo.ts `cifar-resnet` (stem conv,
3 stages of n basic blocks conv-BN-ReLU-conv-BN(+shortcut A)-ReLU, global average pool, dense),
same data preparation as src/run/split.ts (a seeded subset of the training images, k×k block
averaging, per-channel normalization with training-set statistics), same augmentation (zero-padded
random crop, horizontal flip), same optimizer (SGD, momentum 0.9, optional Nesterov, coupled weight
decay) and schedules. Initialization `kaiming` is Li et al.'s (conv weights N(0, 2/fan_in), dense
weights N(0, 1e-6), zero biases), `torch` PyTorch's defaults. The training subset and the batch
order are numpy's/torch's, not losscape's: a run of this script is comparable to a losscape run in
distribution (loss curve, final accuracy), not step for step.

Needs Debian's python3-torch and dataset-fashion-mnist. Example (the plain ResNet-56 at ×1/4 of
skip-vs-noskip-fashion-56-long.yaml, 10 epochs):

  /usr/bin/python3 scripts/torch-train-resnet.py --depth 56 --widen 0.25 --no-skip --downsample 4 \
      --crop 1 --nesterov --init kaiming --epochs 10
"""
import argparse
import gzip
import json
import math
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

FASHION = '/usr/share/datasets/fashion-mnist'


def read_idx(path):
    with gzip.open(path, 'rb') as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(split):
    prefix = 'train' if split == 'train' else 't10k'
    x = read_idx(f'{FASHION}/{prefix}-images-idx3-ubyte.gz').astype(np.float32) / 255.0
    y = read_idx(f'{FASHION}/{prefix}-labels-idx1-ubyte.gz').astype(np.int64)
    return x[:, None, :, :], y


def downsample(x, k):
    if k == 1:
        return x
    n, c, h, w = x.shape
    ho, wo = h // k, w // k
    return x[:, :, :ho * k, :wo * k].reshape(n, c, ho, k, wo, k).mean(axis=(3, 5))


class Block(nn.Module):
    def __init__(self, cin, cout, stride, skip):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.skip, self.stride, self.extra = skip, stride, cout - cin

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        if self.skip:
            s = x[:, :, ::self.stride, ::self.stride] if self.stride > 1 else x
            if self.extra:
                lo = self.extra // 2
                s = F.pad(s, (0, 0, 0, 0, lo, self.extra - lo))
            y = y + s
        return F.relu(y)


class CifarResnet(nn.Module):
    def __init__(self, depth, widen, skip, classes=10):
        super().__init__()
        n = (depth - 2) // 6
        c = max(1, round(16 * widen))
        self.stem = nn.Conv2d(1, c, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(c)
        blocks = []
        for s in range(3):
            for k in range(n):
                stride = 2 if s > 0 and k == 0 else 1
                out = c * 2 if s > 0 and k == 0 else c
                blocks.append(Block(c, out, stride, skip))
                c = out
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(c, classes)

    def forward(self, x):
        x = self.blocks(F.relu(self.bn(self.stem(x))))
        return self.fc(x.mean(dim=(2, 3)))


def init_kaiming(model):
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, nonlinearity='relu')
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=1e-3)
            nn.init.zeros_(m.bias)


def augment(x, crop, flip, gen):
    n, _, h, w = x.shape
    if crop:
        padded = F.pad(x, (crop, crop, crop, crop))
        dy = torch.randint(0, 2 * crop + 1, (n,), generator=gen)
        dx = torch.randint(0, 2 * crop + 1, (n,), generator=gen)
        x = torch.stack([padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(n)])
    if flip:
        mask = torch.rand(n, generator=gen) < 0.5
        x = torch.where(mask[:, None, None, None], x.flip(3), x)
    return x


def rate(args, step, total, per_epoch):
    warm = args.warmup * per_epoch
    ramp = (step + 1) / warm if step < warm else 1.0
    if args.schedule == 'cosine':
        return args.lr * ramp * 0.5 * (1 + math.cos(math.pi * step / total))
    if args.schedule == 'step':
        epoch = step // per_epoch
        return args.lr * ramp * args.gamma ** sum(epoch >= m for m in args.milestones)
    return args.lr * ramp


@torch.no_grad()
def evaluate(model, x, y, batch=1000):
    model.eval()
    loss, correct = 0.0, 0
    for i in range(0, len(x), batch):
        out = model(x[i:i + batch])
        loss += F.cross_entropy(out, y[i:i + batch], reduction='sum').item()
        correct += (out.argmax(1) == y[i:i + batch]).sum().item()
    model.train()
    return loss / len(x), correct / len(x)


def time_steps(args):
    """Wall and CPU milliseconds per optimizer step (forward, backward, SGD update) on a fixed batch."""
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    side = 28 // args.downsample
    model = CifarResnet(args.depth, args.widen, not args.no_skip)
    if args.init == 'kaiming':
        init_kaiming(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=args.nesterov, weight_decay=args.weight_decay)
    x = torch.randn(args.batch, 1, side, side)
    y = torch.randint(0, 10, (args.batch,))

    def step():
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(args.time_steps):
        step()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(json.dumps({'msPerStep': 1000 * wall / args.time_steps, 'cpuMsPerStep': 1000 * cpu / args.time_steps, 'threads': args.threads, 'torch': torch.__version__}))
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--depth', type=int, default=56)
    p.add_argument('--widen', type=float, default=0.5)
    p.add_argument('--no-skip', action='store_true')
    p.add_argument('--downsample', type=int, default=2)
    p.add_argument('--train-size', type=int, default=30000)
    p.add_argument('--epochs', type=int, default=10)
    p.add_argument('--batch', type=int, default=128)
    p.add_argument('--lr', type=float, default=0.1)
    p.add_argument('--weight-decay', type=float, default=5e-4)
    p.add_argument('--nesterov', action='store_true')
    p.add_argument('--schedule', choices=['constant', 'cosine', 'step'], default='cosine')
    p.add_argument('--milestones', type=int, nargs='*', default=[])
    p.add_argument('--gamma', type=float, default=0.1)
    p.add_argument('--warmup', type=float, default=0, help='linear warm-up, in epochs')
    p.add_argument('--init', choices=['torch', 'kaiming'], default='torch')
    p.add_argument('--crop', type=int, default=2)
    p.add_argument('--no-flip', action='store_true')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--count', action='store_true', help='print the learnable parameter count as JSON and exit')
    p.add_argument('--time-steps', type=int, default=0, help='time this many optimizer steps on one random batch (no data read), print JSON, exit')
    args = p.parse_args()
    if args.count:
        model = CifarResnet(args.depth, args.widen, not args.no_skip)
        print(json.dumps({'parameters': sum(t.numel() for t in model.parameters())}))
        return 0
    if args.time_steps:
        return time_steps(args)

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    xtr, ytr = load('train')
    xte, yte = load('test')
    if args.train_size < len(xtr):
        keep = np.sort(rng.choice(len(xtr), args.train_size, replace=False))
        xtr, ytr = xtr[keep], ytr[keep]
    xtr, xte = downsample(xtr, args.downsample), downsample(xte, args.downsample)
    mean, std = xtr.mean(axis=(0, 2, 3), keepdims=True), xtr.std(axis=(0, 2, 3), keepdims=True)
    xtr, xte = (xtr - mean) / std, (xte - mean) / std
    xtr, ytr, xte, yte = map(torch.from_numpy, (np.ascontiguousarray(xtr), ytr, np.ascontiguousarray(xte), yte))

    model = CifarResnet(args.depth, args.widen, not args.no_skip)
    if args.init == 'kaiming':
        init_kaiming(model)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, nesterov=args.nesterov, weight_decay=args.weight_decay)
    gen = torch.Generator().manual_seed(args.seed)
    per_epoch = math.ceil(len(xtr) / args.batch)
    total = per_epoch * args.epochs
    step, start = 0, time.time()
    for epoch in range(args.epochs):
        order = torch.randperm(len(xtr), generator=gen)
        run_loss = 0.0
        for i in range(0, len(xtr), args.batch):
            idx = order[i:i + args.batch]
            xb = augment(xtr[idx], args.crop, not args.no_flip, gen)
            for g in opt.param_groups:
                g['lr'] = rate(args, step, total, per_epoch)
            loss = F.cross_entropy(model(xb), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            run_loss += loss.item() * len(idx)
            step += 1
        train_loss, train_acc = evaluate(model, xtr, ytr)
        test_loss, test_acc = evaluate(model, xte, yte)
        print(json.dumps({
            'epoch': epoch + 1, 'step': step, 'lr': rate(args, step - 1, total, per_epoch),
            'batchLoss': round(run_loss / len(xtr), 4), 'trainLoss': round(train_loss, 4), 'trainAcc': round(train_acc, 4),
            'testLoss': round(test_loss, 4), 'testAcc': round(test_acc, 4), 'seconds': round(time.time() - start, 1),
        }), flush=True)


if __name__ == '__main__':
    sys.exit(main())
