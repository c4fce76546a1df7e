"""Pre-activation ResNet-18 (He et al., 2016, "Identity Mappings in Deep Residual Networks").

Each block applies batch norm and ReLU before its convolutions, so the identity path carries the
signal untouched; the CIFAR stem and stage layout match `resnet.py`. 11.2M parameters.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lib.run.models.resnet import residual_stages


class PreActBlock(nn.Module):
    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.shortcut = None
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(x))
        shortcut = self.shortcut(out) if self.shortcut is not None else x
        out = self.conv1(out)
        out = self.conv2(F.relu(self.bn2(out)))
        return out + shortcut


class PreActResNet(nn.Module):
    """A CIFAR-style pre-activation network: blocks normalise their inputs, so the stem does not,
    and one batch norm and ReLU follow the last block."""

    def __init__(self, block: type[nn.Module], num_blocks: tuple[int, ...], in_channels: int, num_classes: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 64, 3, stride=1, padding=1, bias=False)
        # Registered before the stages, though applied after them: the parameter order (and so the
        # optimizer state in existing checkpoints) and the initialisation under a seed stay as they were.
        self.bn = nn.BatchNorm2d(512)
        self.layers = residual_stages(block, num_blocks)
        self.linear = nn.Linear(512, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.layers(self.conv1(x))
        out = F.relu(self.bn(out))
        return self.linear(F.adaptive_avg_pool2d(out, 1).flatten(1))


def preact_resnet18(in_channels: int, num_classes: int, image_size: int) -> PreActResNet:
    return PreActResNet(PreActBlock, (2, 2, 2, 2), in_channels, num_classes)
