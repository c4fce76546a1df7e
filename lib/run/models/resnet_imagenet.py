"""torchvision's ImageNet ResNet-18 (He et al., 2016), for transfer from ImageNet weights.

The report's "modified ResNet-18": the 7x7 stride-2 stem and max-pool of the ImageNet network, its
ImageNet weights when `pretrained`, a new classifier for the dataset's classes, and inputs
upsampled (bilinear) to `input_size`, e.g. 224, so the stem sees ImageNet-sized images. Weights
come from torchvision's published file (downloaded once into $TORCH_HOME/hub/checkpoints) or a local
state_dict file. Either is loaded with `weights_only=True`, and the cached file must also match the
SHA-256 prefix in its name every time: whoever can write the cache must not be able to run code.
"""

from __future__ import annotations

import hashlib
import pickle
import re
from pathlib import Path
from urllib.parse import urlparse

import torch
from torch import nn


class WeightsError(RuntimeError):
    """Pretrained weights could not be fetched or do not fit the network; the message says why."""


def imagenet_weights_url() -> str:
    """Where torchvision publishes the ImageNet ResNet-18 weights; the file name ends in a SHA-256 prefix."""
    from torchvision.models import ResNet18_Weights

    return ResNet18_Weights.IMAGENET1K_V1.url


def expected_hash_prefix(file_name: str) -> str:
    """The SHA-256 prefix a torchvision weights file names itself by: 'resnet18-f37072fd.pth' -> 'f37072fd'."""
    match = re.fullmatch(r".*-([0-9a-f]{8,})\.\w+", file_name)
    if match is None:
        raise WeightsError(f"weights file name {file_name!r} carries no SHA-256 prefix (expected name-<hex>.pth), "
                           f"so it cannot be verified; pass weights_file instead")
    return match.group(1)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _first_line(exc: BaseException) -> str:
    """The line of an error that says what is wrong. torch.load's weights_only errors open with advice
    to retry with weights_only=False, which is the one thing not to do with an untrusted file."""
    boilerplate = ("Weights only load failed", "Please file an issue", "Check the documentation")
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    useful = [line for line in lines if not line.startswith(boilerplate)]
    return (useful or lines or [type(exc).__name__])[0][:200]


def cached_imagenet_weights() -> Path:
    """The ImageNet weights file in torch.hub's cache, downloaded if absent, and hash-checked either way
    (torch.hub checks the hash only while downloading)."""
    url = imagenet_weights_url()
    path = Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(url).path).name
    expected = expected_hash_prefix(path.name)
    if not path.is_file():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            torch.hub.download_url_to_file(url, str(path), hash_prefix=expected)
        except (OSError, RuntimeError) as exc:  # URLError and friends: no network, a blocked host; a bad hash
            raise WeightsError(f"could not download ImageNet weights from {url} ({_first_line(exc)}); "
                               f"put {path.name} in {path.parent} or pass weights_file") from None
    found = _sha256(path)
    if not found.startswith(expected):
        raise WeightsError(f"cached weights {path} fail their hash check: SHA-256 starts with {found[:len(expected)]}, "
                           f"expected {expected}; delete the file so it is downloaded again, or pass weights_file")
    return path


def load_state_dict_file(path: str | Path) -> dict[str, torch.Tensor]:
    """A state_dict from a file, loaded with weights_only: plain tensors and containers, no other objects."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"weights_file {str(path)!r} does not exist; "
                                f"give the path of a saved ResNet-18 state_dict")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as exc:
        raise WeightsError(f"{path} does not load as a plain state_dict with weights_only=True ({_first_line(exc)}); "
                           f"it is corrupt or holds other objects: replace it with a saved ResNet-18 state_dict") \
            from None


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
    from torchvision.models import resnet18

    net = resnet18(weights=None)
    source = weights_file or (cached_imagenet_weights() if pretrained else None)
    if source:
        state = load_state_dict_file(source)
        try:
            net.load_state_dict(state)
        except (RuntimeError, TypeError) as exc:  # missing or extra keys, wrong shapes, not a dict
            label = "weights_file" if weights_file else "cached weights"
            raise WeightsError(f"{label} {source} is not a torchvision ResNet-18 state_dict ({_first_line(exc)})") \
                from None
    net.conv1 = adapt_stem(net.conv1, in_channels)
    net.fc = nn.Linear(net.fc.in_features, num_classes)
    return net
