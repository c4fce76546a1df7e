"""Training throughput of three input pipelines, side by side in one process.

    python -m benchmarks.throughput [--device cpu|cuda] [--cases lenet/fashion_mnist,resnet18/cifar10] [--quick]

For each case the same model and the same training step (lib.run.loop.train_one_epoch) consume
batches from:

- naive:   a torchvision DataLoader with per-sample PIL transforms (num_workers=2, pin_memory),
           as the research report's pipeline did;
- lib:     the project's pipeline (cache: true): uint8 data on the device, batched augmentation;
- compute: one pre-made batch, fed again and again: the step alone, with no input work.

Every pipeline does the same work per image: random crop, flip, rotation (and colour jitter for
RGB), CutMix/MixUp, normalisation. The pipelines are timed in short interleaved chunks, so a busy
moment on the machine hits all three alike. Writes reports/benchmarks/throughput.json.

`--quick` checks that the benchmark runs, in seconds and without a dataset: scikit-learn's digits
stand in for Fashion-MNIST and 256 random 32x32 RGB images for CIFAR-10, with one round of one
batch each; tests/test_benchmarks.py runs it. Its numbers measure nothing.
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
from dataclasses import dataclass

import torch

from benchmarks import results_path
from lib.core.paths import data_root
from lib.core.formatting import timestamp
from lib.core.records import write_json
from lib.run.augment import AugmentSpec, mix_batch
from lib.run.backend import configure_backend, select_device
from lib.run.datasets import Data, Split, load_data
from lib.run.loaders import DeviceLoader
from lib.run.models import build_model
from lib.run.state import Precision, build_optimizer
from lib.run.loop import train_one_epoch

NAIVE_PREFETCH = 4  # batches the naive DataLoader's 2 workers prepare ahead (prefetch_factor 2 each)


@dataclass
class Case:
    name: str
    model: str
    data: Data
    augment: AugmentSpec
    batch_size: int
    batches: int  # batches per timed chunk
    source: str  # what data the case ran on


def _fashion_or_digits(subset: int | None) -> tuple[Data, str]:
    root = data_root(None)
    if (root / "FashionMNIST" / "raw").is_dir():
        return load_data("fashion_mnist", str(root), subset=subset), f"Fashion-MNIST from {root}"
    return load_data("digits"), "scikit-learn digits (no Fashion-MNIST under DATA_DIR)"


def _random_rgb(n: int = 256, size: int = 32, classes: int = 10) -> Data:
    """Random uint8 RGB images with random labels: the shape of CIFAR-10, for --quick."""
    gen = torch.Generator().manual_seed(0)

    def split(count: int) -> Split:
        return Split(labels=torch.randint(classes, (count,), generator=gen),
                     images=torch.randint(256, (count, 3, size, size), generator=gen, dtype=torch.uint8))

    return Data(name="random", root=data_root(None), train=split(n), val=split(n // 8), test=split(n // 8),
                classes=[str(c) for c in range(classes)], channels=3, image_size=(size, size),
                mean=(0.5, 0.5, 0.5), std=(0.29, 0.29, 0.29), val_is_test=False)


def make_cases(names: list[str], device: torch.device, quick: bool) -> list[Case]:
    """The cases to time; `quick`: tiny stand-in data and one batch a chunk, no dataset needed."""
    gpu = device.type == "cuda"
    cases = []
    for name in names:
        if name == "lenet/fashion_mnist":
            data, source = (load_data("digits"), "scikit-learn digits (--quick)") if quick else _fashion_or_digits(None)
            cases.append(Case(name, "lenet", data, AugmentSpec(crop_padding=2, flip=True, rotation=15.0),
                              64 if quick else 512, 1 if quick else (50 if gpu else 5), source))
            continue
        if name != "resnet18/cifar10":
            raise SystemExit(f"unknown case {name!r}; valid: lenet/fashion_mnist, resnet18/cifar10")
        augment = AugmentSpec(crop_padding=4, flip=True, rotation=15.0, color_jitter=0.2, hue=0.05)
        if quick:
            cases.append(Case(name, "resnet18", _random_rgb(), augment, 16, 1, "256 random 32x32 RGB images (--quick)"))
            continue
        folder = data_root(None) / "cifar10-jpeg"
        if not (folder / "train").is_dir():
            print(f"skipping {name}: no CIFAR-10 image folder at {folder} (set DATA_DIR)")
            continue
        subset = 20000 if gpu else 5000
        data = load_data("imagefolder", str(folder), subset=subset, val_fraction=0.02)
        cases.append(Case(name, "resnet18", data, augment, 256 if gpu else 64, 20 if gpu else 2,
                          f"CIFAR-10 (JPEG copy) from {folder}, {subset} training images"))
    return cases


class _PILDataset(torch.utils.data.Dataset):
    """What torchvision's MNIST/ImageFolder datasets do per item: a PIL image through transforms."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, transform):
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        from PIL import Image

        array = self.images[i].permute(1, 2, 0).numpy()
        image = Image.fromarray(array[..., 0] if array.shape[2] == 1 else array)
        return self.transform(image), int(self.labels[i])


def naive_loader(case: Case, device: torch.device):
    from torchvision import transforms as T

    steps = [T.RandomCrop(case.data.image_size, padding=case.augment.crop_padding), T.RandomHorizontalFlip(),
             T.RandomRotation(case.augment.rotation)]
    if case.augment.color and case.data.channels == 3:
        jitter = case.augment.color_jitter
        steps.append(T.ColorJitter(jitter, jitter, jitter, case.augment.hue))
    steps += [T.ToTensor(), T.Normalize(case.data.mean, case.data.std)]
    train = case.data.train
    if train.files is not None:  # an image folder read lazily: the naive path decodes JPEGs per item
        from torchvision.datasets.folder import default_loader

        dataset = _FileDataset(train.files, train.labels, T.Compose(steps), default_loader)
    else:
        dataset = _PILDataset(train.images, train.labels, T.Compose(steps))
    return torch.utils.data.DataLoader(dataset, batch_size=case.batch_size, shuffle=True, num_workers=2,
                                       pin_memory=device.type == "cuda", drop_last=True,
                                       prefetch_factor=NAIVE_PREFETCH // 2)


class _FileDataset(torch.utils.data.Dataset):
    def __init__(self, files, labels, transform, loader):
        self.files, self.labels, self.transform, self.loader = files, labels, transform, loader

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int):
        return self.transform(self.loader(self.files[i])), int(self.labels[i])


class _OnDevice:
    """Moves a DataLoader's batches to the device, as a training loop does."""

    def __init__(self, loader, device):
        self.loader, self.device = loader, device

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        for x, y in self.loader:
            yield x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)


class _Stream:
    """An endless stream of batches over epochs; `take(n)` is a loader of its next n batches."""

    def __init__(self, loader):
        self.loader = loader
        self.batches = self._forever()

    def _forever(self):
        for epoch in itertools.count():
            if hasattr(self.loader, "set_epoch"):
                self.loader.set_epoch(epoch)
            yield from self.loader

    def take(self, n: int) -> "_Batches":
        return _Batches(self.batches, n)

    def close(self) -> None:
        self.batches.close()  # ends a DataLoader iterator, which stops its worker processes


class _Batches:
    """A loader of the next `n` batches of an iterator."""

    def __init__(self, batches, n: int):
        self.batches, self.n = batches, n

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        return itertools.islice(self.batches, self.n)


def measure(case: Case, device: torch.device, rounds: int, channels_last: bool, amp: bool) -> dict[str, float]:
    """Images/s of each pipeline over `rounds` x `case.batches` batches.

    lib and compute are timed in short interleaved chunks, so a slow moment of the machine hits
    both alike. The naive DataLoader's worker processes would keep working while other pipelines
    are timed, so it is timed in two stretches of its own, before and after the others, with its
    workers started and their queue full before timing and stopped after.
    """
    torch.manual_seed(0)
    data = case.data
    model = build_model(case.model, data.channels, data.num_classes, data.image_size[0]).to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = build_optimizer("sgd", model.parameters(), lr=0.01, weight_decay=5e-4, momentum=0.9, nesterov=True)
    precision = Precision.for_device(device, amp, "bf16")
    lib_loader = DeviceLoader(data.train, case.batch_size, device=device, shuffle=True, drop_last=True,
                              augment=case.augment, mean=data.mean, std=data.std, seed=0)
    images, labels = next(iter(lib_loader))
    premade = mix_batch(images, labels, data.num_classes, 1.0, torch.Generator().manual_seed(0))
    mix_gen = torch.Generator().manual_seed(1)

    def timed(loader, alpha) -> float:
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        train_one_epoch(model, loader, optimizer, precision, num_classes=data.num_classes, mix_alpha=alpha,
                        mix_generator=mix_gen, channels_last=channels_last)
        return time.perf_counter() - start

    def naive_stretch(batches: int) -> float:
        stream = _Stream(_OnDevice(naive_loader(case, device), device))
        for _ in stream.take(NAIVE_PREFETCH + 2):  # workers running, their queue full
            pass
        seconds = timed(stream.take(batches), 1.0)
        stream.close()
        return seconds

    lib = _Stream(lib_loader)
    seconds = {"naive": 0.0, "lib": 0.0, "compute": 0.0}
    timed(lib.take(case.batches), 1.0)  # warm-up: kernels, allocator, caches
    timed(_Batches(itertools.repeat(premade), case.batches), None)
    seconds["naive"] += naive_stretch(case.batches * (rounds // 2))
    for _ in range(rounds):
        seconds["lib"] += timed(lib.take(case.batches), 1.0)
        seconds["compute"] += timed(_Batches(itertools.repeat(premade), case.batches), None)
    seconds["naive"] += naive_stretch(case.batches * (rounds - rounds // 2))
    return {name: rounds * case.batches * case.batch_size / s for name, s in seconds.items()}


def format_table(rows: list[dict], cases: list[Case]) -> str:
    lines = [f"{'case':<22}{'naive':>10}{'lib':>10}{'compute':>10}{'lib/naive':>11}{'lib/compute':>13}  (images/s)"]
    for case in cases:
        r = {row["pipeline"]: row["images_per_s"] for row in rows if row["case"] == case.name}
        lines.append(f"{case.name:<22}{r['naive']:>10.0f}{r['lib']:>10.0f}{r['compute']:>10.0f}"
                     f"{r['lib'] / r['naive']:>11.2f}{r['lib'] / r['compute']:>13.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.throughput", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", default="lenet/fashion_mnist,resnet18/cifar10")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--rounds", type=int, default=12, help="timed chunks per pipeline, interleaved")
    parser.add_argument("--quick", action="store_true",
                        help="seconds, on stand-in data: checks that it runs (writes throughput-quick.json)")
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--amp", action="store_true", help="bf16 autocast (CUDA only)")
    parser.add_argument("--out", help="default reports/benchmarks/throughput.json (--quick: throughput-quick.json)")
    args = parser.parse_args(argv)
    args.out = args.out or str(results_path("throughput", args.quick))
    device = select_device(args.device)
    configure_backend(device)  # as lib.run.loop does: cuDNN benchmark on CUDA, denormals flushed on the CPU
    cases = make_cases(args.cases.split(","), device, args.quick)
    if args.quick:
        args.rounds = 1
    rows = []
    for case in cases:
        print(f"{case.name}: {case.source}; batch {case.batch_size}, {args.rounds} rounds of {case.batches} batches",
              flush=True)
        for pipeline, value in measure(case, device, args.rounds, args.channels_last, args.amp).items():
            rows.append({"case": case.name, "pipeline": pipeline, "images_per_s": round(value, 1)})
    print(format_table(rows, cases))
    report = {"rows": rows, "torch": torch.__version__, "threads": torch.get_num_threads(), "device": str(device),
              "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else os.uname().machine,
              "cases": {c.name: {"data": c.source, "batch_size": c.batch_size, "batches": c.batches} for c in cases},
              "rounds": args.rounds, "time": timestamp()}
    write_json(args.out, report)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
