"""PyTorch forward pass of the zoo's CIFAR ResNets and VGG-9, written from the papers' descriptions
with torch.nn.functional (strided convs, F.pad for option-A shortcuts): reads
{"spec", "params": {name: [shape, values]}, "x": [shape, values], "train": bool} as JSON on stdin
and writes the logits as JSON."""
import json, sys
import torch
import torch.nn.functional as F

req = json.load(sys.stdin)
P = {k: torch.tensor(v[1], dtype=torch.float64).reshape(v[0]) for k, v in req['params'].items()}
x = torch.tensor(req['x'][1], dtype=torch.float64).reshape(req['x'][0])
spec, train = req['spec'], req['train']

def bn(h, name):
    return F.batch_norm(h, P[name + '.running_mean'].clone(), P[name + '.running_var'].clone(), P[name + '.weight'], P[name + '.bias'], training=train, eps=1e-5)

def resnet(h):
    n = (spec['depth'] - 2) // 6
    h = F.relu(bn(F.conv2d(h, P['stem.weight'], padding=1), 'stem.bn'))
    for s in range(3):
        for k in range(n):
            p = f'layer{s + 1}.{k}'
            stride = 2 if s > 0 and k == 0 else 1
            o = F.relu(bn(F.conv2d(h, P[p + '.conv1.weight'], stride=stride, padding=1), p + '.bn1'))
            o = bn(F.conv2d(o, P[p + '.conv2.weight'], padding=1), p + '.bn2')
            if spec.get('skip', True):
                if stride == 1 and o.shape[1] == h.shape[1]:
                    sc = h
                elif spec.get('shortcut', 'conv') == 'A':
                    extra = o.shape[1] - h.shape[1]
                    sc = F.pad(h[:, :, ::2, ::2], (0, 0, 0, 0, extra // 2, extra - extra // 2))
                else:
                    sc = bn(F.conv2d(h, P[p + '.downsample.0.weight'], stride=stride), p + '.downsample.1')
                o = o + sc
            h = F.relu(o)
    return F.linear(h.mean((2, 3)), P['fc.weight'], P['fc.bias'])

def vgg(h):
    k = 0
    for v in [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M']:
        if v == 'M':
            h = F.max_pool2d(h, 2)
        else:
            h = F.relu(bn(F.conv2d(h, P[f'features.{k}.weight'], P[f'features.{k}.bias'], padding=1), f'features.{k}.bn'))
            k += 1
    h = F.relu(bn(F.linear(h.flatten(1), P['fc.weight'], P['fc.bias']), 'fc.bn'))
    return F.linear(h, P['classifier.weight'], P['classifier.bias'])

out = resnet(x) if spec['type'] == 'cifar-resnet' else vgg(x)
json.dump(out.flatten().tolist(), sys.stdout)
