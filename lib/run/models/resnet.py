"""ResNet-18 for small images (He et al., 2016, "Deep Residual Learning for Image Recognition").

The CIFAR variant: a 3x3 stride-1 stem with no max-pool, then four stages of two basic blocks
(64, 128, 256, 512 channels), global average pooling and a linear classifier. 11.2M parameters.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(planes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


def residual_stages(block: type[nn.Module], num_blocks: tuple[int, ...]) -> nn.Sequential:
    """Four stages of `block` (64, 128, 256, 512 channels); each after the first halves the resolution."""
    stages, in_planes = [], 64
    for planes, n, stride in zip((64, 128, 256, 512), num_blocks, (1, 2, 2, 2)):
        blocks = []
        for s in [stride] + [1] * (n - 1):
            blocks.append(block(in_planes, planes, s))
            in_planes = planes
        stages.append(nn.Sequential(*blocks))
    return nn.Sequential(*stages)


class ResNet(nn.Module):
    """A CIFAR-style residual network built from `block` with `num_blocks` per stage."""

    def __init__(self, block: type[nn.Module], num_blocks: tuple[int, ...], in_channels: int, num_classes: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 64, 3, stride=1, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(64)
        self.layers = residual_stages(block, num_blocks)
        self.linear = nn.Linear(512, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn(self.conv1(x)))
        out = self.layers(out)
        return self.linear(F.adaptive_avg_pool2d(out, 1).flatten(1))


def resnet18(in_channels: int, num_classes: int, image_size: int) -> ResNet:
    return ResNet(BasicBlock, (2, 2, 2, 2), in_channels, num_classes)
