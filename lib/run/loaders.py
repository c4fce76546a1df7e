"""The two input pipelines: batches for training and evaluation, in the same order and with the same
augmentation settings either way.

- `DeviceLoader` (cache: true): the decoded dataset sits on the training device as one uint8
  tensor; batches are shuffled with a randperm on that device and augmented as whole batches.
- `SampleLoader` (cache: false): a torch DataLoader with per-sample torchvision transforms in
  worker processes, for data that does not fit in memory.

All randomness of an epoch derives from (seed, epoch), so a resumed run sees the same batches.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Iterator

import torch

from lib.run.augment import AugmentSpec, augment_batch, sample_transform
from lib.run.datasets import Data, Split


def epoch_seed(seed: int, epoch: int, stream: int) -> int:
    """A distinct, reproducible seed per run seed, epoch and random stream."""
    return (seed * 1_000_003 + epoch) * 16 + stream


ORDER, AUGMENT, MIX = 0, 1, 2  # random streams


def epoch_order(n: int, seed: int, epoch: int, device: torch.device | str = "cpu") -> torch.Tensor:
    g = torch.Generator(device=device).manual_seed(epoch_seed(seed, epoch, ORDER))
    return torch.randperm(n, generator=g, device=device)


def _batches(n: int, batch_size: int, drop_last: bool) -> list[tuple[int, int]]:
    stop = n - n % batch_size if drop_last and n >= batch_size else n
    return [(i, min(i + batch_size, n)) for i in range(0, stop, batch_size)]


class DeviceLoader:
    """Batches of a uint8 dataset held on the training device, augmented as whole batches.

    Yields (images float32 (B, C, H, W) normalised, labels int64 (B,)) on the device.
    """

    def __init__(self, split: Split, batch_size: int, *, device: torch.device, shuffle: bool, drop_last: bool,
                 augment: AugmentSpec, mean: tuple[float, ...] | None, std: tuple[float, ...] | None,
                 seed: int = 0):
        self.images = split.images.to(device)
        self.labels = split.labels.to(device)
        self.device, self.batch_size, self.shuffle, self.drop_last = device, batch_size, shuffle, drop_last
        self.augment, self.seed, self.epoch = augment, seed, 0
        self.mean = None if mean is None else torch.tensor(mean, device=device)
        self.std = None if std is None else torch.tensor(std, device=device)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(_batches(len(self.labels), self.batch_size, self.drop_last))

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.labels)
        order = epoch_order(n, self.seed, self.epoch, self.device) if self.shuffle else None
        g = torch.Generator(device=self.device).manual_seed(epoch_seed(self.seed, self.epoch, AUGMENT))
        for start, stop in _batches(n, self.batch_size, self.drop_last):
            if order is None:
                images, labels = self.images[start:stop], self.labels[start:stop]
            else:
                index = order[start:stop]
                images, labels = self.images.index_select(0, index), self.labels.index_select(0, index)
            yield augment_batch(images, self.augment, g, self.mean, self.std), labels


class _SampleDataset(torch.utils.data.Dataset):
    """Per-sample decoding and torchvision transforms; items are addressed as (index, seed)."""

    def __init__(self, split: Split, mode: str, transform):
        self.split, self.mode, self.transform = split, mode, transform

    def __len__(self) -> int:
        return len(self.split)

    def __getitem__(self, item: tuple[int, int]) -> tuple[torch.Tensor, int]:
        index, seed = item
        image = self.split.load(index, self.mode)
        # Seeding per sample makes the batch independent of worker count and of resumption.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            image = self.transform(image)
        return image, int(self.split.labels[index])


class _SeededBatchSampler:
    """Yields lists of (index, per-sample seed) in the same order as DeviceLoader."""

    def __init__(self, n: int, batch_size: int, shuffle: bool, drop_last: bool, seed: int):
        self.n, self.batch_size, self.shuffle, self.drop_last, self.seed = n, batch_size, shuffle, drop_last, seed
        self.epoch = 0

    def __len__(self) -> int:
        return len(_batches(self.n, self.batch_size, self.drop_last))

    def __iter__(self):
        order = epoch_order(self.n, self.seed, self.epoch) if self.shuffle else torch.arange(self.n)
        g = torch.Generator().manual_seed(epoch_seed(self.seed, self.epoch, AUGMENT))
        seeds = torch.randint(2**62, (self.n,), generator=g)
        for start, stop in _batches(self.n, self.batch_size, self.drop_last):
            yield list(zip(order[start:stop].tolist(), seeds[start:stop].tolist()))


class SampleLoader:
    """A torch DataLoader over per-sample transforms, with DeviceLoader's interface."""

    def __init__(self, split: Split, batch_size: int, *, device: torch.device, shuffle: bool, drop_last: bool,
                 augment: AugmentSpec, mean, std, image_size: tuple[int, int], mode: str, seed: int = 0,
                 num_workers: int = 0, pin_memory: bool = False):
        self.sampler = _SeededBatchSampler(len(split), batch_size, shuffle, drop_last, seed)
        self.device = device
        self.loader = torch.utils.data.DataLoader(
            _SampleDataset(split, mode, sample_transform(augment, image_size, mean, std)),
            batch_sampler=self.sampler, num_workers=num_workers,
            pin_memory=pin_memory and device.type == "cuda",
            # training loaders run every epoch; evaluation loaders would keep idle workers alive
            persistent_workers=num_workers > 0 and shuffle)

    def set_epoch(self, epoch: int) -> None:
        self.sampler.epoch = epoch

    def __len__(self) -> int:
        return len(self.sampler)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for x, y in self.loader:
            yield x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)


def make_loader(data: Data, split: Split, *, train: bool, batch_size: int, device: torch.device,
                augment: AugmentSpec, normalize_inputs: bool, cache: bool, seed: int,
                num_workers: int = 0, pin_memory: bool = False):
    """The loader for one split: shuffled and augmented for training, in order otherwise."""
    spec = augment if train else AugmentSpec()
    if spec.color and data.channels != 3:
        spec = replace(spec, color_jitter=0.0, hue=0.0)
    mean, std = (data.mean, data.std) if normalize_inputs else (None, None)
    common = dict(device=device, shuffle=train, drop_last=train and len(split) > batch_size,
                  augment=spec, mean=mean, std=std, seed=seed)
    if cache:
        return DeviceLoader(split, batch_size, **common)
    return SampleLoader(split, batch_size, image_size=data.image_size, mode="RGB" if data.channels == 3 else "GRAY",
                        num_workers=num_workers, pin_memory=pin_memory, **common)
