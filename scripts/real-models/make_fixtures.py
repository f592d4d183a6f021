"""Tiny exported real architectures for losscape's importer tests (test/fixtures/real-models/).

Run with Debian's PyTorch (no downloads: `apt-get install python3-torch python3-torchvision
python3-h5py`):

    /usr/bin/python3 scripts/real-models/make_fixtures.py

Each model is a real torchvision architecture (or, where torchvision hard-codes widths, its
building blocks) at toy width, randomly initialised, trained for a few SGD steps in train mode
(so batch-norm statistics are not the defaults), then exported with torch.onnx.export in eval
mode. Per model NAME it writes:

  NAME.onnx      the export (batch norm kept: training=PRESERVE, do_constant_folding=False,
                 except NAME = mobilenet_folded, the default export that folds it)
  NAME.json      input shape, class count, opset, the torch outputs of the first samples,
                 net.parameters() and state_dict() names and shapes in order
  data.h5        X [16, 3, 8, 8] float32 and y [16] int64 (shared by all models)

and for the batch-norm ResNet the reference code's direction files (one tensor per
net.parameters() entry, dir_type=weights, and per state_dict() entry, dir_type=states):
resnet_bn.dirs.h5 and resnet_bn.states.h5. Its downsample BN bias is set equal to another BN
bias before export, which makes the exporter store the two as one initializer (it de-duplicates
equal tensors in eval exports).
"""

import json
import os

import h5py
import numpy as np
import torch
import torch.nn as nn
from torchvision.models import mobilenetv3, shufflenetv2, efficientnet, resnet, vision_transformer

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "real-models")
CLASSES = 5
N = 16


class TinyResNet(nn.Module):
    """ResNet-18's structure (torchvision BasicBlock, conv1x1+BN downsample) at widths 8, 16."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = nn.Sequential(resnet.BasicBlock(8, 8))
        down = nn.Sequential(resnet.conv1x1(8, 16, 2), nn.BatchNorm2d(16))
        self.layer2 = nn.Sequential(resnet.BasicBlock(8, 16, stride=2, downsample=down))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(16, CLASSES)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer2(self.layer1(x))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class TanhGeluViT(nn.Module):
    """torchvision's VisionTransformer with the tanh form of GELU in its MLP blocks."""

    def __init__(self):
        super().__init__()
        self.vit = vision_transformer.VisionTransformer(image_size=8, patch_size=4, num_layers=2, num_heads=2, hidden_dim=8, mlp_dim=16, num_classes=CLASSES)
        for layer in self.vit.encoder.layers:
            layer.mlp[1] = nn.GELU(approximate="tanh")

    def forward(self, x):
        return self.vit(x)


def mobilenet():
    cfg = mobilenetv3.InvertedResidualConfig
    setting = [
        cfg(8, 3, 16, 8, True, "RE", 2, 1, 1.0),  # depthwise stride 2 + squeeze-excitation, ReLU
        cfg(8, 5, 24, 8, True, "HS", 1, 1, 1.0),  # 5x5 depthwise, hardswish, residual
    ]
    return mobilenetv3.MobileNetV3(setting, last_channel=16, num_classes=CLASSES)


def shufflenet():
    return shufflenetv2.ShuffleNetV2([1, 2, 1], [8, 16, 32, 32, 32], num_classes=CLASSES)


def efficientnet_tiny():
    cfg = efficientnet.MBConvConfig
    setting = [cfg(1, 3, 1, 8, 8, 1, 1.0, 1.0), cfg(4, 3, 2, 8, 16, 1, 1.0, 1.0), cfg(4, 5, 1, 16, 16, 1, 1.0, 1.0)]
    return efficientnet.EfficientNet(setting, dropout=0.2, stochastic_depth_prob=0.2, num_classes=CLASSES, last_channel=24)


def vit():
    return vision_transformer.VisionTransformer(image_size=8, patch_size=4, num_layers=2, num_heads=2, hidden_dim=8, mlp_dim=16, num_classes=CLASSES)


# name -> (constructor, input shape, opset, keep batch norm)
MODELS = {
    "mobilenet_v3": (mobilenet, [3, 8, 8], 13, True),
    "mobilenet_folded": (mobilenet, [3, 8, 8], 13, False),
    "shufflenet_v2": (shufflenet, [3, 16, 16], 14, True),
    "efficientnet": (efficientnet_tiny, [3, 8, 8], 16, True),
    "resnet_bn": (TinyResNet, [3, 8, 8], 15, True),
    "vit": (vit, [3, 8, 8], 17, True),
    "vit_tanh_gelu": (TanhGeluViT, [3, 8, 8], 13, True),
}


def data(shape):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(N, *shape, generator=g)
    y = torch.randint(0, CLASSES, (N,), generator=g)
    return x, y


def trained(make, x, y, seed):
    torch.manual_seed(seed)
    net = make()
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    net.train()
    for _ in range(3):
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    net.eval()
    return net


def export(net, x, path, opset, keep_bn):
    kw = dict(training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False) if keep_bn else {}
    torch.onnx.export(
        net, x[:1], path, input_names=["x"], output_names=["logits"],
        dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}}, opset_version=opset, **kw,
    )


def tensor_list(items):
    return [{"name": k, "shape": list(v.shape)} for k, v in items]


def direction_file(path, tensors, seed):
    g = torch.Generator().manual_seed(seed)
    with h5py.File(path, "w") as f:
        for group in ("xdirection", "ydirection"):
            for k, t in enumerate(tensors):
                f[f"{group}/{k}"] = torch.randn(t.shape, generator=g).numpy().astype(np.float32)


def main():
    os.makedirs(OUT, exist_ok=True)
    x8, y8 = data([3, 8, 8])
    with h5py.File(os.path.join(OUT, "data.h5"), "w") as f:
        f["X"] = x8.numpy()
        f["y"] = y8.numpy()
    for seed, (name, (make, shape, opset, keep_bn)) in enumerate(MODELS.items()):
        x, y = (x8, y8) if shape == [3, 8, 8] else data(shape)
        net = trained(make, x, y, seed)
        if name == "resnet_bn":
            with torch.no_grad():
                net.layer2[0].downsample[1].bias.copy_(net.layer2[0].bn2.bias)
        export(net, x, os.path.join(OUT, f"{name}.onnx"), opset, keep_bn)
        with torch.no_grad():
            logits = net(x[:4]).numpy()
        meta = {
            "input_shape": shape,
            "classes": CLASSES,
            "opset": opset,
            "batch_norm_kept": keep_bn,
            "logits_first4": logits.tolist(),
            "parameters": tensor_list(net.named_parameters()),
            "state_dict": tensor_list(net.state_dict().items()),
        }
        if shape != [3, 8, 8]:
            meta["data"] = {"seed": 0, "note": "x = torch.randn(16, *input_shape) with manual_seed(0)"}
            np.save(os.path.join(OUT, f"{name}.x.npy"), x.numpy())
            np.save(os.path.join(OUT, f"{name}.y.npy"), y.numpy())
        with open(os.path.join(OUT, f"{name}.json"), "w") as f:
            json.dump(meta, f, indent=1)
        if name == "resnet_bn":
            direction_file(os.path.join(OUT, "resnet_bn.dirs.h5"), list(net.parameters()), 123)
            direction_file(os.path.join(OUT, "resnet_bn.states.h5"), list(net.state_dict().values()), 124)
        print(name, os.path.getsize(os.path.join(OUT, f"{name}.onnx")), "bytes")


if __name__ == "__main__":
    main()
