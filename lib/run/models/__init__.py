"""Model registry: a name -> a factory `(in_channels, num_classes, image_size) -> nn.Module`."""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from lib.run.models.lenet import lenet
from lib.run.models.mlp import mlp
from lib.run.models.preact_resnet import preact_resnet18
from lib.run.models.resnet import resnet18
from lib.run.models.resnet_imagenet import WeightsError, resnet18_imagenet

MODELS: dict[str, Callable[..., nn.Module]] = {
    "mlp": mlp,
    "lenet": lenet,
    "resnet18": resnet18,
    "preact_resnet18": preact_resnet18,
    "resnet18_imagenet": resnet18_imagenet,
}


class Upsample(nn.Module):
    """Resize inputs (bilinear) to `size` x `size` before the wrapped network."""

    def __init__(self, net: nn.Module, size: int):
        super().__init__()
        self.net, self.size = net, size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2:] != (self.size, self.size):
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        return self.net(x)


def build_model(name: str, in_channels: int, num_classes: int, image_size: int, *, input_size: int | None = None,
                pretrained: bool = False, weights_file: str | None = None) -> nn.Module:
    """The named network for these inputs; `input_size` upsamples inputs to that side length first."""
    if name not in MODELS:
        raise ValueError(f"model {name!r} is not one of: {', '.join(MODELS)}")
    size = input_size or image_size
    extra = {"pretrained": pretrained, "weights_file": weights_file} if pretrained or weights_file else {}
    net = MODELS[name](in_channels, num_classes, size, **extra)
    return Upsample(net, input_size) if input_size and input_size != image_size else net


__all__ = ["MODELS", "WeightsError", "build_model", "Upsample"]
