"""LeNet-5 (LeCun et al., 1998, "Gradient-based learning applied to document recognition").

Two 5x5 convolution + 2x2 max-pool stages and three fully connected layers (120, 84, classes),
with today's ReLU and batch norm in place of the original squashing units. Both convolutions pad
by 2 ("same"), so inputs from 4x4 (scikit-learn digits are 8x8) to any larger size work; the
first fully connected layer is sized for the input.
"""

from __future__ import annotations

import torch
from torch import nn


class ConvBlock(nn.Sequential):
    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 5, padding=2, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
        )


class LeNet(nn.Module):
    def __init__(self, in_channels: int, num_classes: int, image_size: int, widths: tuple[int, int] = (6, 16)):
        super().__init__()
        self.features = nn.Sequential(ConvBlock(in_channels, widths[0]), ConvBlock(widths[0], widths[1]))
        side = image_size // 4
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(widths[1] * side * side, 120), nn.ReLU(inplace=True),
            nn.Linear(120, 84), nn.ReLU(inplace=True),
            nn.Linear(84, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def lenet(in_channels: int, num_classes: int, image_size: int) -> LeNet:
    return LeNet(in_channels, num_classes, image_size)
