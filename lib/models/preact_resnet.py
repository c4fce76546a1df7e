"""Pre-activation ResNet-18 (He et al., 2016, "Identity Mappings in Deep Residual Networks").

Each block applies batch norm and ReLU before its convolutions, so the identity path carries the
signal untouched; the CIFAR stem and stage layout match `resnet.py`. 11.2M parameters.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lib.models.resnet import ResNet


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


def preact_resnet18(in_channels: int, num_classes: int, image_size: int) -> ResNet:
    return ResNet(PreActBlock, (2, 2, 2, 2), in_channels, num_classes, preact=True)
