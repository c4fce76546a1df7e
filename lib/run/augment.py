"""Batched augmentation: pure functions of (batch, generator) that run on any device.

Every sample draws its own parameters from a seeded `torch.Generator`, and a whole batch is
transformed with a handful of tensor ops (no per-sample Python loop), so that augmentation costs a
small fraction of a training step even for small models. The ops follow torchvision's per-sample
transforms: RandomCrop(padding, fill 0), RandomHorizontalFlip(0.5), RandomRotation(nearest, fill 0)
and ColorJitter, then CutMix or MixUp as in torchvision.transforms.v2. Crop, flip and rotation are
composed into one affine map and applied by a single nearest-neighbour `grid_sample`, which gives
the same pixels as applying them one after another (crop and flip move whole pixels; only the
rotation rounds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

# ITU-R 601-2 luma weights, as torchvision's rgb_to_grayscale.
_LUMA = (0.2989, 0.587, 0.114)


@dataclass(frozen=True)
class AugmentSpec:
    """What to do to training images; zero or False switches an op off. Each field is the RunConfig
    field of the same name (`from_config`), applied by the batch ops below and by `sample_transform`."""

    crop_padding: int = 0  # pixels of zero padding before a random crop back to size
    flip: bool = False
    rotation: float = 0.0  # degrees, uniform in [-rotation, rotation]
    color_jitter: float = 0.0  # brightness, contrast and saturation factors in [1 - jitter, 1 + jitter]
    hue: float = 0.0  # hue shift in [-hue, hue] turns of the colour wheel

    @classmethod
    def from_config(cls, config: Any) -> "AugmentSpec":
        """The config's augmentation (its fields of the same names), or none when `augment` is false."""
        if not config.augment:
            return cls()
        return cls(**{f.name: getattr(config, f.name) for f in fields(cls)})

    @property
    def geometric(self) -> bool:
        return bool(self.crop_padding or self.flip or self.rotation)

    @property
    def color(self) -> bool:
        return bool(self.color_jitter or self.hue)

    @property
    def active(self) -> bool:
        return self.geometric or self.color


@dataclass
class AugmentParams:
    """Per-sample parameters for one batch of B images."""

    shift: torch.Tensor  # (B, 2) int64: crop offset (dx, dy) in [-padding, padding]
    flip: torch.Tensor  # (B,) bool
    angle: torch.Tensor  # (B,) float32 degrees, counter-clockwise
    brightness: torch.Tensor  # (B,) float32 factors
    contrast: torch.Tensor
    saturation: torch.Tensor
    hue: torch.Tensor  # (B,) float32 in turns


def sample_params(n: int, spec: AugmentSpec, generator: torch.Generator) -> AugmentParams:
    """Draw every sample's parameters on the generator's device."""
    device = generator.device

    def uniform(low: float, high: float) -> torch.Tensor:
        if low == high:  # an op that is off draws nothing
            return torch.full((n,), float(low), device=device)
        return torch.rand(n, generator=generator, device=device) * (high - low) + low

    p = spec.crop_padding
    return AugmentParams(
        shift=torch.randint(-p, p + 1, (n, 2), generator=generator, device=device),
        flip=(torch.rand(n, generator=generator, device=device) < 0.5) if spec.flip
        else torch.zeros(n, dtype=torch.bool, device=device),
        angle=uniform(-spec.rotation, spec.rotation),
        brightness=uniform(max(0.0, 1 - spec.color_jitter), 1 + spec.color_jitter),
        contrast=uniform(max(0.0, 1 - spec.color_jitter), 1 + spec.color_jitter),
        saturation=uniform(max(0.0, 1 - spec.color_jitter), 1 + spec.color_jitter),
        hue=uniform(-spec.hue, spec.hue),
    )


def affine_theta(params: AugmentParams, height: int, width: int) -> torch.Tensor:
    """(B, 2, 3) maps from output to input positions, in `affine_grid`'s normalised coordinates.

    In pixel coordinates centred on the image (x right, y down) the composed crop, flip and
    rotation read an output pixel p from the input at F R p + t: R undoes a counter-clockwise
    rotation, F mirrors x, t is the crop offset.
    """
    rad = params.angle * (math.pi / 180)
    cos, sin = torch.cos(rad), torch.sin(rad)
    mirror = 1.0 - 2.0 * params.flip.float()  # -1 where flipped
    sx, sy = 2.0 / width, 2.0 / height  # pixels -> normalised units
    shift = params.shift.float()
    return torch.stack([mirror * cos, mirror * sin * (-sx / sy), shift[:, 0] * sx,
                        sin * (sy / sx), cos, shift[:, 1] * sy], 1).view(-1, 2, 3)


def sampling_grid(theta: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """(B, H, W, 2) input positions for every output pixel: F.affine_grid's result, built by
    broadcasting into place instead of by a batched matmul (five times faster on the CPU)."""
    device = theta.device
    xs = (torch.arange(width, device=device, dtype=torch.float32) * 2 + 1) / width - 1  # (W,)
    ys = ((torch.arange(height, device=device, dtype=torch.float32) * 2 + 1) / height - 1)[:, None]  # (H, 1)
    t = theta.reshape(-1, 6, 1, 1)
    grid = torch.empty(len(theta), height, width, 2, device=device)
    torch.add(t[:, 0] * xs, t[:, 1] * ys + t[:, 2], out=grid[..., 0])  # (B, 1, W) + (B, H, 1)
    torch.add(t[:, 3] * xs, t[:, 4] * ys + t[:, 5], out=grid[..., 1])
    return grid


def crop_window(params: AugmentParams, height: int, width: int) -> torch.Tensor:
    """(B, 1, H, W) bool: the source pixels inside each sample's crop window.

    torchvision crops first and rotates the crop, so what a rotation brings in from outside the
    window is black. Zeroing the source outside the window before the one resampling does the same.
    """
    device = params.shift.device
    dx, dy = params.shift[:, :1], params.shift[:, 1:]  # (B, 1)
    cols, rows = torch.arange(width, device=device), torch.arange(height, device=device)
    in_cols = (cols >= dx) & (cols < width + dx)  # (B, W)
    in_rows = (rows >= dy) & (rows < height + dy)  # (B, H)
    return in_rows[:, None, :, None] & in_cols[:, None, None, :]


def geometric(images: torch.Tensor, params: AugmentParams) -> torch.Tensor:
    """Crop, flip and rotate a float batch (B, C, H, W) in one nearest-neighbour resampling."""
    h, w = images.shape[-2:]
    grid = sampling_grid(affine_theta(params, h, w), h, w).to(images.dtype)
    return F.grid_sample(images * crop_window(params, h, w), grid, mode="nearest", padding_mode="zeros",
                         align_corners=False)


def _gray(images: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) -> (B, 1, H, W) luma."""
    r, g, b = images.unbind(1)
    return (_LUMA[0] * r + _LUMA[1] * g + _LUMA[2] * b).unsqueeze(1)


def _per_sample(values: torch.Tensor) -> torch.Tensor:
    return values.view(-1, 1, 1, 1).to(torch.float32)


def _blend(images: torch.Tensor, other: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    f = _per_sample(factor)
    return (f * images + (1 - f) * other).clamp_(0, 1)


def rgb_to_hsv(images: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) RGB in [0, 1] -> HSV with hue in turns [0, 1)."""
    r, g, b = images.unbind(1)
    maxc, _ = images.max(1)
    minc, _ = images.min(1)
    delta = maxc - minc
    safe = torch.where(delta > 0, delta, torch.ones_like(delta))
    hue = torch.where(maxc == r, (g - b) / safe,
                      torch.where(maxc == g, 2.0 + (b - r) / safe, 4.0 + (r - g) / safe))
    hue = torch.where(delta > 0, (hue / 6.0) % 1.0, torch.zeros_like(hue))
    sat = torch.where(maxc > 0, delta / torch.where(maxc > 0, maxc, torch.ones_like(maxc)),
                      torch.zeros_like(maxc))
    return torch.stack([hue, sat, maxc], 1)


def hsv_to_rgb(hsv: torch.Tensor) -> torch.Tensor:
    """Inverse of rgb_to_hsv."""
    h, s, v = hsv.unbind(1)
    # Each channel is v - v*s*clamp(min(k, 4 - k), 0, 1) with k = (n + 6h) mod 6, n = 5, 3, 1.
    n = torch.tensor([5.0, 3.0, 1.0], device=hsv.device).view(1, 3, 1, 1)
    k = (n + h.unsqueeze(1) * 6.0) % 6.0
    ramp = torch.minimum(k, 4.0 - k).clamp(0, 1)
    return v.unsqueeze(1) - (v * s).unsqueeze(1) * ramp


def color_jitter(images: torch.Tensor, params: AugmentParams, hue: bool = True) -> torch.Tensor:
    """Brightness, contrast, saturation, then (if `hue`) hue, on a float RGB batch in [0, 1].

    torchvision's ColorJitter shuffles the order per image; a fixed order keeps the batch in a few
    ops and draws each factor from the same range.
    """
    out = (images * _per_sample(params.brightness)).clamp_(0, 1)
    out = _blend(out, _gray(out).mean((1, 2, 3), keepdim=True), params.contrast)
    out = _blend(out, _gray(out), params.saturation)
    if hue:
        hsv = rgb_to_hsv(out)
        hsv[:, 0] = (hsv[:, 0] + params.hue.view(-1, 1, 1)) % 1.0
        out = hsv_to_rgb(hsv)
    return out


def augment_batch(images: torch.Tensor, spec: AugmentSpec, generator: torch.Generator,
                  mean: torch.Tensor | None = None, std: torch.Tensor | None = None) -> torch.Tensor:
    """uint8 (B, C, H, W) -> float32, augmented as `spec` says: in [0, 1], or normalised with the
    per-channel (C,) `mean` and `std` (in [0, 1] units) in the same pass as the scaling."""
    out = images.float()  # 0-255: resampling pads with 0, black, as torchvision's crop does
    scale = 255.0
    if spec.active:
        params = sample_params(len(images), spec, generator)
        if spec.geometric:
            out = geometric(out, params)
        if spec.color and out.shape[1] == 3:
            out = color_jitter(out.div_(scale), params, hue=spec.hue > 0)
            scale = 1.0
    if mean is None:
        return out.div_(scale)
    inv_std = (1.0 / std).view(1, -1, 1, 1)
    return torch.addcmul(-mean.view(1, -1, 1, 1) * inv_std, out, inv_std / scale)


def mix_batch(images: torch.Tensor, labels: torch.Tensor, num_classes: int, alpha: float,
              generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """CutMix or MixUp (even odds) of a batch with itself rolled by one, as torchvision.transforms.v2.

    `generator` is a CPU generator: the per-batch scalars (which op, the Beta-distributed ratio,
    the box) are drawn on the CPU so a GPU batch never waits on a host sync. Returns the mixed
    images and soft targets (B, num_classes) whose rows sum to 1.
    """
    rng = np.random.default_rng(int(torch.randint(2**62, (1,), generator=generator)))
    lam = float(rng.beta(alpha, alpha))
    targets = F.one_hot(labels, num_classes).to(images.dtype)
    if rng.random() < 0.5:  # MixUp
        mixed = images.mul(lam)
        _add_rolled(mixed, images, 1 - lam)
    else:  # CutMix: paste a box covering about 1 - lam of the image
        h, w = images.shape[-2:]
        cy, cx = int(rng.integers(h)), int(rng.integers(w))
        rh, rw = int(h * math.sqrt(1 - lam)) // 2, int(w * math.sqrt(1 - lam)) // 2
        y0, y1, x0, x1 = max(cy - rh, 0), min(cy + rh, h), max(cx - rw, 0), min(cx + rw, w)
        mixed = images.clone()
        box = (..., slice(y0, y1), slice(x0, x1))
        mixed[1:][box] = images[:-1][box]
        mixed[:1][box] = images[-1:][box]
        lam = 1.0 - (y1 - y0) * (x1 - x0) / (h * w)
    mixed_targets = targets.mul(lam)
    _add_rolled(mixed_targets, targets, 1 - lam)
    return mixed, mixed_targets


def _add_rolled(out: torch.Tensor, x: torch.Tensor, weight: float) -> None:
    """out += weight * x.roll(1, 0), without materialising the rolled copy."""
    out[1:].add_(x[:-1], alpha=weight)
    out[:1].add_(x[-1:], alpha=weight)


# ---------------------------------------------------------------------------------------------
# The same augmentation per sample, for the DataLoader path (cache: false)


def sample_transform(augment: AugmentSpec, image_size: tuple[int, int], mean, std):
    """torchvision's per-sample transforms for the same AugmentSpec, on uint8 (C, H, W) tensors."""
    from torchvision.transforms import v2

    steps = []
    if augment.crop_padding:
        steps.append(v2.RandomCrop(image_size, padding=augment.crop_padding))
    if augment.flip:
        steps.append(v2.RandomHorizontalFlip())
    if augment.rotation:
        steps.append(v2.RandomRotation(augment.rotation))
    if augment.color:
        jitter = augment.color_jitter
        steps.append(_RGBOnly(v2.ColorJitter(jitter, jitter, jitter, augment.hue)))
    steps.append(v2.ToDtype(torch.float32, scale=True))
    if mean is not None:
        steps.append(v2.Normalize(list(mean), list(std)))
    return v2.Compose(steps)


class _RGBOnly(torch.nn.Module):
    """Apply a colour transform to 3-channel images only (grey images pass through)."""

    def __init__(self, transform):
        super().__init__()
        self.transform = transform

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.transform(image) if image.shape[0] == 3 else image
