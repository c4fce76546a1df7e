"""torchvision's ImageNet ResNet-18 (He et al., 2016), for transfer from ImageNet weights.

The report's "modified ResNet-18": the 7x7 stride-2 stem and max-pool of the ImageNet network, its
ImageNet weights when `pretrained`, a new classifier for the dataset's classes, and inputs
upsampled (bilinear) to `input_size`, e.g. 224, so the stem sees ImageNet-sized images. Weights
come from torchvision's weights API (downloaded once into $TORCH_HOME) or a local state_dict file.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import torch
from torch import nn


class WeightsError(RuntimeError):
    """Pretrained weights could not be fetched or do not fit the network; the message says why."""


def load_state_dict_file(path: str | Path) -> dict[str, torch.Tensor]:
    """A state_dict from a local file, loaded without unpickling arbitrary objects."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"weights_file {str(path)!r} does not exist; "
                                f"give the path of a saved ResNet-18 state_dict")
    return torch.load(path, map_location="cpu", weights_only=True)


def adapt_stem(conv: nn.Conv2d, in_channels: int) -> nn.Conv2d:
    """The stem for `in_channels`; grey inputs keep pretrained filters by summing over RGB."""
    if in_channels == conv.in_channels:
        return conv
    new = nn.Conv2d(in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, bias=False)
    with torch.no_grad():
        summed = conv.weight.sum(1, keepdim=True)  # (64, 1, 7, 7): the response to grey input
        new.weight.copy_((summed / in_channels).repeat(1, in_channels, 1, 1))
    return new


def resnet18_imagenet(in_channels: int, num_classes: int, image_size: int, pretrained: bool = False,
                      weights_file: str | None = None) -> nn.Module:
    from torchvision.models import ResNet18_Weights, resnet18

    weights = ResNet18_Weights.IMAGENET1K_V1
    try:
        net = resnet18(weights=weights if pretrained and not weights_file else None)
    except OSError as exc:  # URLError and friends: no network, or a blocked host
        raise WeightsError(f"could not download ImageNet weights ({exc}); put {Path(weights.url).name} in "
                           f"$TORCH_HOME/hub/checkpoints/ or pass weights_file") from None
    if weights_file:
        try:
            net.load_state_dict(load_state_dict_file(weights_file))
        except (RuntimeError, pickle.UnpicklingError) as exc:
            first = str(exc).strip().splitlines()[0][:200]
            raise WeightsError(f"weights_file {weights_file} is not a torchvision ResNet-18 state_dict ({first})") \
                from None
    net.conv1 = adapt_stem(net.conv1, in_channels)
    net.fc = nn.Linear(net.fc.in_features, num_classes)
    return net
