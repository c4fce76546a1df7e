"""LeNet-5 (LeCun et al., 1998, "Gradient-based learning applied to document recognition").

Two stages of a 5x5 convolution and a 2x2 subsampling, then three fully connected layers (120, 84,
classes): 61.7k parameters for 28x28 inputs. As in the paper, each subsampling is followed by a
trainable per-map scale and bias and then the non-linearity; here the subsampling is max-pooling,
the scale and bias are batch norm and the non-linearity is ReLU. Normalising after the subsampling
touches a quarter of the activations a conv-BN-ReLU-pool order would, which matters on a CPU,
where batch norm would otherwise take half of the training step. The first convolution pads by 2
(the paper's 32x32 frame around 28x28 digits); the second pads only for inputs under 16 pixels
(scikit-learn's 8x8 digits). The first fully connected layer is sized for the input.
"""

from __future__ import annotations

import torch
from torch import nn


class ConvStage(nn.Sequential):
    """5x5 convolution, 2x2 max-pool, per-map scale and bias (batch norm), ReLU."""

    def __init__(self, in_channels: int, out_channels: int, padding: int):
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 5, padding=padding, bias=False),
            nn.MaxPool2d(2),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )


class LeNet(nn.Module):
    def __init__(self, in_channels: int, num_classes: int, image_size: int, widths: tuple[int, int] = (6, 16)):
        super().__init__()
        pad2 = 2 if image_size < 16 else 0
        self.features = nn.Sequential(ConvStage(in_channels, widths[0], 2), ConvStage(widths[0], widths[1], pad2))
        side = (image_size // 2 + 2 * pad2 - 4) // 2
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
