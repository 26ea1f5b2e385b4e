"""One training step of imbal-dist's small CNN (with batch norm) in PyTorch, for
Tests/TrainingTests/PyTorchReferenceTests.swift, which holds the numbers this prints.

The parameters, input and labels are formulas both sides evaluate in float64 and round to
float32, so no file passes between them:
  input  x_i = sin(0.37 i) over the flat NCHW batch (4 images, 1×8×8), labels [0, 2, 1, 2]
  tensor t (0-based, imbal-dist's arena order), flat index i:
    batch-norm weight   1 + 0.1 sin(0.9 i + t)
    batch-norm bias     0.1 cos(1.1 i + t)
    other weights       sin(1.3 i + 0.7 t) / sqrt(fan-in)
    fc.bias             0.1 sin(1.3 i + 0.7 t)
The step: training-mode forward, mean cross-entropy, backward, SGD (lr 0.1, momentum 0.9,
weight decay 5e-4). Printed per tensor: the gradient's L2 norm, sum and entries 0, n/2, n-1;
the parameters' L2 norm after the update; each running statistic's L2 norm.
Run: python3 scripts/reference/small_cnn_step.py (torch 2.x, CPU, float32, one thread).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)


class SmallCNN(nn.Module):
    def __init__(self, classes):
        super().__init__()
        widths = [(1, 32), (32, 32), (32, 64), (64, 64)]
        for k, (i, o) in enumerate(widths, start=1):
            setattr(self, f"conv{k}", nn.Conv2d(i, o, 3, padding=1, bias=False))
            setattr(self, f"bn{k}", nn.BatchNorm2d(o))
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        for k in range(1, 5):
            x = F.relu(getattr(self, f"bn{k}")(getattr(self, f"conv{k}")(x)))
            if k % 2 == 0:
                x = F.max_pool2d(x, 2)
        return self.fc(x.mean(dim=(2, 3)))


ORDER = ["conv1.weight", "bn1.weight", "bn1.bias", "conv2.weight", "bn2.weight", "bn2.bias",
         "conv3.weight", "bn3.weight", "bn3.bias", "conv4.weight", "bn4.weight", "bn4.bias",
         "fc.weight", "fc.bias"]


def value(name, shape, t, i):
    if name.startswith("bn") and name.endswith("weight"):
        return 1 + 0.1 * math.sin(0.9 * i + t)
    if name.startswith("bn"):
        return 0.1 * math.cos(1.1 * i + t)
    if name == "fc.bias":
        return 0.1 * math.sin(1.3 * i + 0.7 * t)
    fan_in = math.prod(shape[1:])
    return math.sin(1.3 * i + 0.7 * t) / math.sqrt(fan_in)


model = SmallCNN(3)
parameters = dict(model.named_parameters())
assert sorted(parameters) == sorted(ORDER)
with torch.no_grad():
    for t, name in enumerate(ORDER):
        p = parameters[name]
        flat = [value(name, p.shape, t, i) for i in range(p.numel())]
        p.copy_(torch.tensor(flat, dtype=torch.float64).float().reshape(p.shape))
x = torch.tensor([math.sin(0.37 * i) for i in range(4 * 64)], dtype=torch.float64).float().reshape(4, 1, 8, 8)
y = torch.tensor([0, 2, 1, 2])

model.train()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
optimizer.zero_grad()
loss = F.cross_entropy(model(x), y)
loss.backward()
print(f"loss {loss.item():.9g}")
for name in ORDER:
    g = parameters[name].grad.double().flatten()
    n = g.numel()
    print(f'("{name}", {g.norm().item():.9g}, {g.sum().item():.9g}, '
          f'[{g[0].item():.9g}, {g[n // 2].item():.9g}, {g[n - 1].item():.9g}]),')
optimizer.step()
print(f"parameters after the step {torch.cat([p.detach().double().flatten() for p in model.parameters()]).norm().item():.9g}")
for k in range(1, 5):
    bn = getattr(model, f"bn{k}")
    print(f'("bn{k}", {bn.running_mean.double().norm().item():.9g}, {bn.running_var.double().norm().item():.9g}),')
