#!/bin/sh
# The documented mode-connecting curve (docs/curves.md): two MNIST MLPs from seeds 1 and 2,
# the Bézier curve between them, and a movie along it. About 20 s on 2 cores, plus the video.
set -e
npx losscape run examples/curve/mnist-mlp-seed1.yaml --out runs/mnist-mlp-seed1
npx losscape run examples/curve/mnist-mlp-seed2.yaml --out runs/mnist-mlp-seed2
npx losscape curve runs/mnist-mlp-seed1 runs/mnist-mlp-seed2 --out runs/mnist-curve --steps 8000 --lr 0.1
npx losscape video runs/mnist-curve
