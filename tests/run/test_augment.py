"""Batched augmentation: agreement with torchvision's per-sample ops, parameter distributions,
shapes and seeding, CutMix/MixUp, and the HSV conversions.

The batched ops are checked against torchvision.transforms.v2.functional applied one image at a
time with the same parameters; crop, flip and rotation must give the very same pixels.
"""

import pytest
import torch
import torch.nn.functional as F
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as TF

from lib.run.augment import (AugmentParams, AugmentSpec, affine_theta, augment_batch, color_jitter, geometric,
                             hsv_to_rgb, mix_batch, rgb_to_hsv, sample_params, sampling_grid)

N_DRAWS = 6000  # samples for the distribution tests
FULL = AugmentSpec(crop_padding=4, flip=True, rotation=15.0, color_jitter=0.2, hue=0.05)


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def random_images(b: int, c: int = 3, h: int = 12, w: int = 12, seed: int = 0) -> torch.Tensor:
    """(B, C, H, W) float32 in [0, 1), every pixel distinct with probability 1."""
    return torch.rand(b, c, h, w, generator=seeded(seed))


def identity_params(b: int, **changes: torch.Tensor) -> AugmentParams:
    """Parameters that leave every image as it is, with `changes` applied."""
    ones = torch.ones(b)
    values = dict(shift=torch.zeros(b, 2, dtype=torch.int64), flip=torch.zeros(b, dtype=torch.bool),
                  angle=torch.zeros(b), brightness=ones, contrast=ones, saturation=ones, hue=torch.zeros(b))
    return AugmentParams(**{**values, **changes})


def rotate_ref(image: torch.Tensor, angle: float) -> torch.Tensor:
    return TF.rotate(image, angle, interpolation=InterpolationMode.NEAREST, fill=0)


def crop_ref(image: torch.Tensor, dx: int, dy: int, padding: int) -> torch.Tensor:
    """torchvision's RandomCrop(padding): zero-pad, then crop back to size at offset (dx, dy) from centre."""
    h, w = image.shape[-2:]
    return TF.crop(TF.pad(image, [padding], fill=0), dy + padding, dx + padding, h, w)


# ---------------------------------------------------------------------------------------------
# Agreement with torchvision's per-sample ops


@pytest.mark.parametrize("h, w", [(12, 12), (10, 16)])
def test_sampling_grid_matches_affine_grid(h, w):
    params = sample_params(8, FULL, seeded())
    theta = affine_theta(params, h, w)
    expected = F.affine_grid(theta, [8, 1, h, w], align_corners=False)
    torch.testing.assert_close(sampling_grid(theta, h, w), expected, atol=1e-6, rtol=0)


@pytest.mark.parametrize("h, w", [(12, 12), (10, 16), (16, 9)])
def test_rotation_matches_torchvision(h, w):
    images = random_images(32, h=h, w=w)
    angles = torch.rand(32, generator=seeded(1)) * 60 - 30
    out = geometric(images, identity_params(32, angle=angles))
    expected = torch.stack([rotate_ref(im, float(a)) for im, a in zip(images, angles)])
    assert torch.equal(out, expected)


def test_padded_crop_matches_pad_then_crop():
    padding = 2
    shifts = torch.cartesian_prod(torch.arange(-padding, padding + 1), torch.arange(-padding, padding + 1))
    images = random_images(len(shifts), h=7, w=9)
    out = geometric(images, identity_params(len(shifts), shift=shifts))
    expected = torch.stack([crop_ref(im, int(dx), int(dy), padding) for im, (dx, dy) in zip(images, shifts)])
    assert torch.equal(out, expected)


def test_flip_matches_horizontal_flip():
    images = random_images(6, h=5, w=8)
    flip = torch.tensor([True, False, True, True, False, False])
    out = geometric(images, identity_params(6, flip=flip))
    expected = torch.stack([TF.horizontal_flip(im) if f else im for im, f in zip(images, flip)])
    assert torch.equal(out, expected)


@pytest.mark.parametrize("h, w", [(12, 12), (9, 14)])
def test_crop_flip_rotate_composition_matches_torchvision(h, w):
    spec = AugmentSpec(crop_padding=3, flip=True, rotation=25.0)
    images = random_images(48, h=h, w=w)
    params = sample_params(48, spec, seeded(2))
    out = geometric(images, params)
    expected = []
    for im, (dx, dy), flip, angle in zip(images, params.shift.tolist(), params.flip, params.angle):
        im = crop_ref(im, dx, dy, spec.crop_padding)
        im = TF.horizontal_flip(im) if flip else im
        expected.append(rotate_ref(im, float(angle)))
    assert torch.equal(out, torch.stack(expected))


def factors(b: int, low: float, high: float, seed: int) -> torch.Tensor:
    return torch.rand(b, generator=seeded(seed)) * (high - low) + low


@pytest.mark.parametrize("ops", [["brightness"], ["contrast"], ["saturation"], ["hue"],
                                 ["brightness", "contrast", "saturation", "hue"]], ids="+".join)
def test_color_jitter_matches_torchvision(ops):
    images = random_images(16, h=6, w=5)
    drawn = {"brightness": factors(16, 0.4, 1.6, 1), "contrast": factors(16, 0.4, 1.6, 2),
             "saturation": factors(16, 0.0, 2.0, 3), "hue": factors(16, -0.5, 0.5, 4)}
    params = identity_params(16, **{op: drawn[op] for op in ops})
    adjust = {"brightness": TF.adjust_brightness, "contrast": TF.adjust_contrast,
              "saturation": TF.adjust_saturation, "hue": TF.adjust_hue}
    expected = []
    for i, image in enumerate(images):
        for op in ops:  # color_jitter's fixed order: brightness, contrast, saturation, hue
            image = adjust[op](image, float(drawn[op][i]))
        expected.append(image)
    torch.testing.assert_close(color_jitter(images, params), torch.stack(expected), atol=1e-5, rtol=0)


# ---------------------------------------------------------------------------------------------
# Distributions of the sampled parameters


def test_crop_offsets_cover_every_integer_evenly():
    padding = 4
    shift = sample_params(N_DRAWS, AugmentSpec(crop_padding=padding), seeded()).shift
    assert shift.dtype == torch.int64 and shift.shape == (N_DRAWS, 2)
    for axis in (0, 1):
        counts = torch.bincount(shift[:, axis] + padding)
        assert len(counts) == 2 * padding + 1  # nothing beyond +padding (and nothing below -padding)
        expected = N_DRAWS / (2 * padding + 1)
        assert ((counts - expected).abs() < 0.3 * expected).all(), counts.tolist()


def test_no_padding_means_no_offset():
    assert not sample_params(100, AugmentSpec(flip=True), seeded()).shift.any()


def test_flip_rate_is_one_half():
    flip = sample_params(N_DRAWS, AugmentSpec(flip=True), seeded()).flip
    assert flip.dtype == torch.bool
    assert abs(flip.float().mean().item() - 0.5) < 0.03
    assert not sample_params(100, AugmentSpec(rotation=5.0), seeded()).flip.any()


def test_rotation_angles_stay_in_range_and_spread_over_it():
    angle = sample_params(N_DRAWS, AugmentSpec(rotation=15.0), seeded()).angle
    assert angle.abs().max() <= 15.0
    counts = torch.histc(angle, bins=6, min=-15.0, max=15.0)
    expected = N_DRAWS / 6
    assert ((counts - expected).abs() < 0.3 * expected).all(), counts.tolist()


def test_jitter_factors_and_hue_stay_in_range():
    params = sample_params(N_DRAWS, AugmentSpec(color_jitter=0.2, hue=0.05), seeded())
    for values in (params.brightness, params.contrast, params.saturation):
        assert 0.8 <= values.min() < 0.81 and 1.19 < values.max() <= 1.2
    assert -0.05 <= params.hue.min() < -0.049 and 0.049 < params.hue.max() <= 0.05
    # The three factors are drawn independently.
    assert not torch.equal(params.brightness, params.contrast)


def test_jitter_above_one_never_gives_negative_factors():
    params = sample_params(N_DRAWS, AugmentSpec(color_jitter=1.5), seeded())
    assert params.brightness.min() >= 0 and params.brightness.max() <= 2.5


# ---------------------------------------------------------------------------------------------
# augment_batch: dtypes, shapes, grey images, seeding


def uint8_images(b: int, c: int, h: int = 10, w: int = 10, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 256, (b, c, h, w), dtype=torch.uint8, generator=seeded(seed))


@pytest.mark.parametrize("channels", [1, 3])
def test_augment_batch_turns_uint8_into_float_in_unit_range(channels):
    images = uint8_images(16, channels)
    out = augment_batch(images, FULL, seeded())
    assert out.dtype == torch.float32 and out.shape == images.shape
    assert out.min() >= 0 and out.max() <= 1
    assert not torch.equal(out, images.float() / 255)


def test_augment_off_only_scales():
    images = uint8_images(4, 3)
    assert torch.equal(augment_batch(images, AugmentSpec(), seeded()), images.float() / 255)


def test_grey_images_skip_color_jitter():
    color_only = AugmentSpec(color_jitter=0.5, hue=0.2)
    grey = uint8_images(8, 1)
    assert torch.equal(augment_batch(grey, color_only, seeded()), grey.float() / 255)
    rgb = uint8_images(8, 3)
    assert not torch.equal(augment_batch(rgb, color_only, seeded()), rgb.float() / 255)


def test_augment_batch_is_seeded():
    images = uint8_images(16, 3)
    first = augment_batch(images, FULL, seeded(5))
    assert torch.equal(augment_batch(images, FULL, seeded(5)), first)
    assert not torch.equal(augment_batch(images, FULL, seeded(6)), first)


@pytest.mark.parametrize("spec", [AugmentSpec(), FULL], ids=["plain", "augmented"])
def test_normalisation_uses_per_channel_statistics(spec):
    images = uint8_images(4, 3)
    mean, std = torch.tensor([0.1, 0.5, 0.9]), torch.tensor([0.5, 0.25, 2.0])
    unit = augment_batch(images, spec, seeded(3))
    expected = (unit - mean.view(1, 3, 1, 1)) / std.view(1, 3, 1, 1)
    torch.testing.assert_close(augment_batch(images, spec, seeded(3), mean, std), expected)


# ---------------------------------------------------------------------------------------------
# CutMix and MixUp


def is_cutmix(mixed: torch.Tensor, images: torch.Tensor) -> bool:
    """Every pixel is exactly the image's own or its roll-by-one partner's (MixUp blends them)."""
    return bool(((mixed == images) | (mixed == images.roll(1, 0))).all())


def pasted_fraction(mixed: torch.Tensor, images: torch.Tensor) -> float:
    """Share of the (H, W) positions taken from the partner, from sample 0 across all channels."""
    pasted = (mixed[0] == images.roll(1, 0)[0]).all(0)
    return pasted.float().mean().item()


def test_mix_batch_shapes_and_soft_targets():
    images, labels = random_images(8), torch.arange(8) % 5
    for seed in range(10):
        mixed, targets = mix_batch(images, labels, 5, 1.0, seeded(seed))
        assert mixed.shape == images.shape and mixed.dtype == images.dtype
        assert targets.shape == (8, 5) and targets.dtype == torch.float32
        torch.testing.assert_close(targets.sum(1), torch.ones(8))
        assert (targets >= 0).all()


def test_mix_batch_uses_both_ops_and_cutmix_lam_is_the_kept_area():
    images, labels = random_images(4, h=16, w=16), torch.arange(4)  # every label differs from its partner's
    generator = seeded(3)
    seen = {"cutmix": 0, "mixup": 0}
    for _ in range(60):
        mixed, targets = mix_batch(images, labels, 4, 1.0, generator)
        lam = targets[0, 0].item()  # sample 0 keeps lam of its own label 0
        torch.testing.assert_close(targets[0, 3].item(), 1 - lam)  # and takes the rest from sample 3's
        if is_cutmix(mixed, images):
            seen["cutmix"] += 1
            assert lam == pytest.approx(1 - pasted_fraction(mixed, images), abs=1e-6)
        else:
            seen["mixup"] += 1
            torch.testing.assert_close(mixed, lam * images + (1 - lam) * images.roll(1, 0))
    assert seen["cutmix"] >= 15 and seen["mixup"] >= 15, seen


def test_mix_batch_is_seeded():
    images, labels = random_images(8), torch.arange(8)
    first = mix_batch(images, labels, 8, 1.0, seeded(4))
    again = mix_batch(images, labels, 8, 1.0, seeded(4))
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])
    generator = seeded(4)
    mix_batch(images, labels, 8, 1.0, generator)
    assert not torch.equal(mix_batch(images, labels, 8, 1.0, generator)[1], first[1])


def test_mix_batch_leaves_its_inputs_alone():
    images, labels = random_images(4), torch.arange(4)
    before = images.clone()
    for seed in range(6):
        mix_batch(images, labels, 4, 1.0, seeded(seed))
    assert torch.equal(images, before)


# ---------------------------------------------------------------------------------------------
# HSV


def test_hsv_round_trip():
    images = random_images(4, h=16, w=16)
    images[0, :, 0, :] = 0.5  # grey pixels: no hue
    images[0, :, 1, :] = 0.0  # black: no saturation either
    torch.testing.assert_close(hsv_to_rgb(rgb_to_hsv(images)), images, atol=1e-5, rtol=0)


@pytest.mark.parametrize("rgb, hsv", [
    ((1.0, 0.0, 0.0), (0.0, 1.0, 1.0)), ((0.0, 1.0, 0.0), (1 / 3, 1.0, 1.0)), ((0.0, 0.0, 1.0), (2 / 3, 1.0, 1.0)),
    ((1.0, 1.0, 0.0), (1 / 6, 1.0, 1.0)), ((1.0, 0.0, 0.5), (11 / 12, 1.0, 1.0)), ((0.4, 0.4, 0.4), (0.0, 0.0, 0.4)),
    ((0.5, 0.25, 0.25), (0.0, 0.5, 0.5))])
def test_hsv_known_colours(rgb, hsv):
    pixel = torch.tensor(rgb).view(1, 3, 1, 1)
    torch.testing.assert_close(rgb_to_hsv(pixel).flatten(), torch.tensor(hsv), atol=1e-6, rtol=0)
    torch.testing.assert_close(hsv_to_rgb(torch.tensor(hsv).view(1, 3, 1, 1)), pixel, atol=1e-6, rtol=0)


def test_hue_is_in_turns():
    hsv = rgb_to_hsv(random_images(2, h=8, w=8))
    assert hsv.min() >= 0 and hsv[:, 0].max() < 1 and hsv[:, 1:].max() <= 1
