"""Real convnets for `npm run bench` (bench/real-models.ts): exported at bench time, timed in PyTorch.

Needs Debian's PyTorch (`apt-get install python3-torch python3-torchvision`); nothing is
downloaded (random init). Two modes:

    /usr/bin/python3 scripts/real-models/bench_models.py export DIR [--samples 128]
        torchvision resnet18, squeezenet1_1 and mobilenet_v3_small (10 classes, 3x32x32 input),
        seeded random init, 2 SGD steps in train mode (batch-norm statistics not the defaults),
        exported in eval mode with batch norm kept (training=PRESERVE, do_constant_folding=False,
        opset 17, dynamic batch) to DIR/NAME.onnx, the weights to DIR/NAME.pt and the samples
        to DIR/data.x.npy (float32 [n, 3, 32, 32]) and DIR/data.y.npy (int64 [n]).

    /usr/bin/python3 scripts/real-models/bench_models.py serve DIR
        one thread (torch.set_num_threads(1)); reads commands from stdin, one per line, and
        answers each with one line of JSON:
          point NAME REPS  eval forward + mean cross-entropy of all samples at the weights
                           theta + a*d1 + b*d2 (d1, d2 fixed random directions; a, b change
                           each rep): the work of one grid point; best ms of REPS
          hvp NAME REPS    H v of the mean cross-entropy in eval mode by double backward
                           (autograd.grad with create_graph, then the grad of g.v): one HVP;
                           best ms of REPS
          quit

    /usr/bin/python3 scripts/real-models/bench_models.py time DIR point|hvp NAME REPS
        one such command in its own process (what the bench runs, between its own timings)
"""

import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision import models

MODELS = {
    "resnet18": lambda: models.resnet18(num_classes=10),
    "squeezenet1_1": lambda: models.squeezenet1_1(num_classes=10),
    "mobilenet_v3_small": lambda: models.mobilenet_v3_small(num_classes=10),
}


def build(name):
    torch.manual_seed(0)
    return MODELS[name]()


def export(out, samples):
    os.makedirs(out, exist_ok=True)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(samples, 3, 32, 32, generator=g)
    y = torch.randint(0, 10, (samples,), generator=g)
    np.save(os.path.join(out, "data.x.npy"), x.numpy())
    np.save(os.path.join(out, "data.y.npy"), y.numpy().astype(np.int64))
    for name in MODELS:
        net = build(name)
        opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
        net.train()
        for _ in range(2):
            opt.zero_grad()
            F.cross_entropy(net(x), y).backward()
            opt.step()
        net.eval()
        torch.save(net.state_dict(), os.path.join(out, name + ".pt"))
        torch.onnx.export(
            net,
            x[:2],
            os.path.join(out, name + ".onnx"),
            input_names=["x"],
            output_names=["logits"],
            dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}},
            opset_version=17,
            training=torch.onnx.TrainingMode.PRESERVE,
            do_constant_folding=False,
        )
    print(json.dumps({"ok": True, "models": list(MODELS)}))


def serve(out, commands=None):
    torch.set_num_threads(1)
    x = torch.from_numpy(np.load(os.path.join(out, "data.x.npy")))
    y = torch.from_numpy(np.load(os.path.join(out, "data.y.npy")))
    nets = {}

    def net_of(name):
        if name not in nets:
            net = build(name)
            net.load_state_dict(torch.load(os.path.join(out, name + ".pt")))
            net.eval()
            params = [p for p in net.parameters()]
            g = torch.Generator().manual_seed(2)
            theta = [p.detach().clone() for p in params]
            d1 = [torch.randn(p.shape, generator=g) * 0.01 for p in params]
            d2 = [torch.randn(p.shape, generator=g) * 0.01 for p in params]
            v = [torch.randn(p.shape, generator=g) for p in params]
            nets[name] = (net, params, theta, d1, d2, v)
        return nets[name]

    for line in commands if commands is not None else sys.stdin:
        cmd = line.split()
        if not cmd or cmd[0] == "quit":
            break
        kind, name, reps = cmd[0], cmd[1], int(cmd[2])
        net, params, theta, d1, d2, v = net_of(name)
        best = float("inf")
        value = None
        for r in range(reps):
            a, b = 0.1 * (r + 1), -0.05 * (r + 1)
            if kind == "point":
                t0 = time.perf_counter()
                with torch.no_grad():
                    for p, t, u, w in zip(params, theta, d1, d2):
                        p.copy_(t + a * u + b * w)
                    value = F.cross_entropy(net(x), y).item()
                ms = (time.perf_counter() - t0) * 1e3
            else:
                with torch.no_grad():
                    for p, t in zip(params, theta):
                        p.copy_(t)
                t0 = time.perf_counter()
                loss = F.cross_entropy(net(x), y)
                grads = torch.autograd.grad(loss, params, create_graph=True)
                gv = sum((gi * vi).sum() for gi, vi in zip(grads, v))
                hv = torch.autograd.grad(gv, params)
                value = float(sum((h * vi).sum() for h, vi in zip(hv, v)))
                ms = (time.perf_counter() - t0) * 1e3
            best = min(best, ms)
        print(json.dumps({"kind": kind, "name": name, "ms": best, "value": value}), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "export":
        samples = int(sys.argv[sys.argv.index("--samples") + 1]) if "--samples" in sys.argv else 128
        export(sys.argv[2], samples)
    elif sys.argv[1] == "serve":
        serve(sys.argv[2])
    elif sys.argv[1] == "time":
        try:
            serve(sys.argv[2], [" ".join(sys.argv[3:6])])
        except Exception as e:  # e.g. torch 1.13: no double backward through hardsigmoid
            print(json.dumps({"error": str(e).splitlines()[0]}), flush=True)
            os._exit(1)  # a plain exit can hang in torch's thread pools here
        sys.stdout.flush()
        os._exit(0)
    else:
        raise SystemExit("usage: bench_models.py export DIR [--samples N] | serve DIR | time DIR point|hvp NAME REPS")
