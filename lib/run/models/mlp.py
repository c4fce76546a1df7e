"""Multi-layer perceptron: the flattened image through ReLU hidden layers.

The baseline of the report's model list; for 28x28 inputs the default 512-256 layout has 535k
parameters.
"""

from __future__ import annotations

import torch
from torch import nn


class MLP(nn.Module):
    def __init__(self, in_features: int, num_classes: int, hidden: tuple[int, ...] = (512, 256)):
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        for width in hidden:
            layers += [nn.Linear(in_features, width), nn.BatchNorm1d(width), nn.ReLU(inplace=True)]
            in_features = width
        layers.append(nn.Linear(in_features, num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def mlp(in_channels: int, num_classes: int, image_size: int) -> MLP:
    return MLP(in_channels * image_size * image_size, num_classes)
