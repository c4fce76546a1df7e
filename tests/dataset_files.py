"""Tiny datasets written in their real on-disk formats (IDX files, CIFAR pickle batches, image folders),
for the tests that load data; nothing reads a real dataset or the network. Images written by the IDX
writer carry their index in the top-left pixel, so a test can tell which samples went where.
"""

import gzip
import pickle
from pathlib import Path

import numpy as np
import torch
from PIL import Image

MNIST_FOLDERS = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST"}
CIFAR_FOLDERS = {"cifar10": "cifar-10-batches-py", "cifar100": "cifar-100-python"}
# Python 3 pickles bytes with protocol 2 through _codecs.encode, which the safe unpickler refuses (see
# test_cifar_batches_written_with_any_pickle_protocol_load); the official Python 2 files need neither.
PICKLE_PROTOCOL = 4


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file of unsigned bytes: 0, 0, dtype 0x08, ndim, big-endian uint32 dims, data."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def write_idx(path: Path, array: np.ndarray, *, gz: bool = False) -> Path:
    raw = idx_bytes(array)
    if gz:
        path = path.with_name(path.name + ".gz")
        raw = gzip.compress(raw)
    path.write_bytes(raw)
    return path


def indexed_images(n: int, shape: tuple[int, ...], seed: int) -> np.ndarray:
    """(n, *shape) random uint8 images whose first pixel is the image's index (n <= 256)."""
    images = np.random.default_rng(seed).integers(0, 256, (n, *shape), dtype=np.uint8)
    images.reshape(n, -1)[:, 0] = np.arange(n)
    return images


def image_ids(images: torch.Tensor) -> list[int]:
    """The indices that `indexed_images` wrote into (N, C, H, W) images."""
    return images.reshape(len(images), -1)[:, 0].tolist()


def write_mnist(root: Path, dataset: str = "mnist", *, n_train: int = 40, n_test: int = 12,
                size: tuple[int, int] = (8, 6), gz: bool = False) -> dict[str, np.ndarray]:
    """torchvision's raw layout, <root>/MNIST/raw/*-ubyte; returns what was written."""
    raw = root / MNIST_FOLDERS[dataset] / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    arrays = {"train_images": indexed_images(n_train, size, seed=1), "train_labels": np.arange(n_train) % 10,
              "test_images": indexed_images(n_test, size, seed=2), "test_labels": (np.arange(n_test) * 7) % 10}
    names = {"train_images": "train-images-idx3-ubyte", "train_labels": "train-labels-idx1-ubyte",
             "test_images": "t10k-images-idx3-ubyte", "test_labels": "t10k-labels-idx1-ubyte"}
    for key, name in names.items():
        write_idx(raw / name, arrays[key], gz=gz)
    return arrays


def write_pickle(path: Path, obj, protocol: int = PICKLE_PROTOCOL) -> None:
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=protocol)


def cifar_batch(n: int, label_key: bytes, num_classes: int, seed: int) -> dict:
    """One batch as the official files hold it: bytes keys, (n, 3072) uint8 data, a list of labels."""
    rng = np.random.default_rng(seed)
    return {b"batch_label": b"batch %d" % seed, b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            label_key: [int(v) for v in rng.integers(0, num_classes, n)],
            b"filenames": [b"image_%d.png" % i for i in range(n)]}


def write_cifar(root: Path, dataset: str = "cifar10", *, per_file: int = 3, n_test: int = 5,
                protocol: int = PICKLE_PROTOCOL) -> dict:
    """<root>/cifar-10-batches-py/{data_batch_1..5,test_batch,batches.meta} or
    <root>/cifar-100-python/{train,test,meta}; returns the train and test batches and class names."""
    base = root / CIFAR_FOLDERS[dataset]
    base.mkdir(parents=True, exist_ok=True)
    if dataset == "cifar10":
        train_files, test_file, meta_file, label_key, names_key = (
            [f"data_batch_{i}" for i in range(1, 6)], "test_batch", "batches.meta", b"labels", b"label_names")
        meta = {b"label_names": [b"class_%d" % i for i in range(10)], b"num_cases_per_batch": per_file}
    else:
        train_files, test_file, meta_file, label_key, names_key = (
            ["train"], "test", "meta", b"fine_labels", b"fine_label_names")
        meta = {b"fine_label_names": [b"fine_%d" % i for i in range(100)],
                b"coarse_label_names": [b"coarse_%d" % i for i in range(20)]}
    num_classes = len(meta[names_key])
    train = [cifar_batch(per_file, label_key, num_classes, seed=i) for i in range(len(train_files))]
    test = cifar_batch(n_test, label_key, num_classes, seed=99)
    for name, batch in zip(train_files, train):
        write_pickle(base / name, batch, protocol)
    write_pickle(base / test_file, test, protocol)
    write_pickle(base / meta_file, meta, protocol)
    return {"base": base, "train": train, "test": test, "label_key": label_key,
            "classes": [n.decode() for n in meta[names_key]]}


def write_imagefolder(root: Path, *, channels: int = 3, size: tuple[int, int] = (6, 5),
                      counts: dict[str, tuple[int, int]] | None = None) -> dict[str, torch.Tensor]:
    """<root>/{train,test}/<class>/*.png; `counts` maps class -> (train, test) images.
    Returns every written image (uint8 (C, H, W)) by its path."""
    counts = counts or {"cat": (5, 2), "dog": (4, 2), "emu": (3, 1)}
    generator = torch.Generator().manual_seed(len(counts) * channels)
    written = {}
    for class_name, per_split in counts.items():
        for split, n in zip(("train", "test"), per_split):
            folder = root / split / class_name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                image = torch.randint(0, 256, (channels, *size), dtype=torch.uint8, generator=generator)
                path = folder / f"{i:03d}.png"
                array = image.permute(1, 2, 0).numpy()
                Image.fromarray(array[..., 0] if channels == 1 else array).save(path)
                written[str(path)] = image
    return written
