"""Data loaders, the validation split and the two input pipelines, on tiny files written here.

Every dataset is written in tmp_path in its real on-disk format (IDX files, CIFAR pickle batches,
an image folder of PNGs); nothing reads a real dataset or the network. Images written by the
IDX writer carry their index in the top-left pixel, so a test can tell which samples went where.
"""

import gzip
import os
import pickle
import urllib.error
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import torch
import torchvision.datasets
from dataset_files import (CIFAR_FOLDERS, MNIST_FOLDERS, idx_bytes, image_ids, indexed_images, write_cifar, write_idx,
                           write_imagefolder, write_mnist, write_pickle)
from PIL import Image

from lib.run.augment import AugmentSpec
from lib.run.datasets import DATASETS, DatasetError, load_data, read_idx
from lib.run.loaders import DeviceLoader, SampleLoader, epoch_order, make_loader

CPU = torch.device("cpu")
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]
TV_CLASSES = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST", "cifar10": "CIFAR10", "cifar100": "CIFAR100"}
@pytest.fixture
def mnist_root(tmp_path) -> Path:
    write_mnist(tmp_path)
    return tmp_path


@pytest.fixture
def rgb_folder(tmp_path) -> Path:
    write_imagefolder(tmp_path)
    return tmp_path


# ---------------------------------------------------------------------------------------------
# Loaders: every dataset as uint8 (N, C, H, W) with int64 labels


def assert_split_format(split, channels: int, size: tuple[int, int]) -> None:
    assert split.images.dtype == torch.uint8
    assert split.images.shape == (len(split), channels, *size)
    assert split.labels.dtype == torch.int64 and split.labels.shape == (len(split),)


def test_digits_loader():
    data = load_data("digits", val_fraction=0.1)
    for split in (data.train, data.val, data.test):
        assert_split_format(split, 1, (8, 8))
        assert 0 <= int(split.labels.min()) and int(split.labels.max()) <= 9
    assert len(data.train) + len(data.val) + len(data.test) == 1797
    assert len(data.test) == 1797 // 5
    assert data.classes == [str(i) for i in range(10)] and data.num_classes == 10
    assert data.channels == 1 and data.image_size == (8, 8)
    assert int(data.train.images.max()) == 255  # 0-16 pixel values were scaled to the uint8 range
    assert len(data.mean) == len(data.std) == 1 and 0 < data.mean[0] < 1 and data.std[0] > 0


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
@pytest.mark.parametrize("dataset, classes", [("mnist", [str(i) for i in range(10)]),
                                              ("fashion_mnist", FASHION_CLASSES)])
def test_mnist_like_loader(tmp_path, dataset, classes, gz):
    written = write_mnist(tmp_path, dataset, gz=gz)
    data = load_data(dataset, str(tmp_path), val_fraction=0)
    for split in (data.train, data.test):
        assert_split_format(split, 1, (8, 6))
    assert data.classes == classes and data.num_classes == 10
    assert data.channels == 1 and data.image_size == (8, 6)
    assert (data.mean, data.std) == (DATASETS[dataset].mean, DATASETS[dataset].std)
    assert torch.equal(data.test.images[:, 0], torch.from_numpy(written["test_images"]))
    assert data.test.labels.tolist() == written["test_labels"].tolist()
    # The training split comes shuffled: put it back in file order to compare.
    order = torch.tensor(image_ids(data.train.images)).argsort()
    assert torch.equal(data.train.images[order, 0], torch.from_numpy(written["train_images"]))
    assert data.train.labels[order].tolist() == written["train_labels"].tolist()


@pytest.mark.parametrize("dataset", ["cifar10", "cifar100"])
def test_cifar_loader(tmp_path, dataset):
    written = write_cifar(tmp_path, dataset)
    data = load_data(dataset, str(tmp_path), val_fraction=0)
    n_train = sum(len(b[written["label_key"]]) for b in written["train"])
    assert len(data.train) == n_train and len(data.test) == len(written["test"][b"data"])
    for split in (data.train, data.test):
        assert_split_format(split, 3, (32, 32))
    assert data.classes == written["classes"] and data.num_classes == (10 if dataset == "cifar10" else 100)
    assert data.channels == 3 and data.image_size == (32, 32)
    expected = torch.from_numpy(written["test"][b"data"]).reshape(-1, 3, 32, 32)  # rows are R, G, B planes
    assert torch.equal(data.test.images, expected)
    assert data.test.labels.tolist() == written["test"][written["label_key"]]
    all_train = np.concatenate([b[b"data"] for b in written["train"]]).reshape(-1, 3, 32, 32)
    assert sorted(map(bytes, data.train.images.numpy())) == sorted(map(bytes, all_train))


@pytest.mark.parametrize("cache", [True, False], ids=["cache", "lazy"])
@pytest.mark.parametrize("channels", [3, 1], ids=["rgb", "grey"])
def test_imagefolder_loader(tmp_path, channels, cache):
    written = write_imagefolder(tmp_path, channels=channels)
    data = load_data("imagefolder", str(tmp_path), val_fraction=0, cache=cache)
    assert data.classes == ["cat", "dog", "emu"]
    assert data.channels == channels and data.image_size == (6, 5)
    assert (len(data.train), len(data.test)) == (12, 5)
    if cache:
        assert data.train.images is not None and data.test.images is not None
    else:
        assert data.train.images is None and len(data.train.files) == len(data.train)
        assert all(Path(f).parent.parent.name == "train" for f in data.train.files)
    mode = "RGB" if channels == 3 else "GRAY"
    test = data.test.decoded(mode)
    assert_split_format(test, channels, (6, 5))
    paths = sorted(written)
    test_paths = [p for p in paths if Path(p).parts[-3] == "test"]
    assert torch.equal(test.images, torch.stack([written[p] for p in test_paths]))
    assert test.labels.tolist() == [data.classes.index(Path(p).parent.name) for p in test_paths]
    train = data.train.decoded(mode)
    assert_split_format(train, channels, (6, 5))
    measured = train.images.float().div(255).mean((0, 2, 3))
    assert data.mean == pytest.approx(measured.tolist(), abs=1e-4)


@pytest.mark.parametrize("suffix", [
    ".png", ".jpg", ".JPEG", ".gif", ".webp", ".bmp"])
def test_imagefolder_reads_every_listed_suffix(tmp_path, suffix):
    for split in ("train", "test"):
        for class_name in ("a", "b"):
            (tmp_path / split / class_name).mkdir(parents=True)
            Image.new("RGB", (5, 6), (200, 30, 90)).save(tmp_path / split / class_name / f"image{suffix}")
    data = load_data("imagefolder", str(tmp_path), val_fraction=0)
    assert data.channels == 3 and data.image_size == (6, 5) and len(data.train) == 2
    assert_split_format(data.train, 3, (6, 5))


# ---------------------------------------------------------------------------------------------
# Missing and broken files


@pytest.mark.parametrize("dataset, expected_file", [
    ("mnist", "train-images-idx3-ubyte"), ("fashion_mnist", "t10k-labels-idx1-ubyte"),
    ("cifar10", "data_batch_1"), ("cifar100", "meta")])
def test_missing_dataset_says_what_where_and_how(tmp_path, dataset, expected_file):
    with pytest.raises(DatasetError) as error:
        load_data(dataset, str(tmp_path))
    message = str(error.value)
    folder = (tmp_path / MNIST_FOLDERS[dataset] / "raw" if dataset in MNIST_FOLDERS
              else tmp_path / CIFAR_FOLDERS[dataset])
    assert repr(dataset) in message and str(folder) in message and expected_file in message
    assert "--download" in message and "DATA_DIR" in message


def test_missing_mnist_file_is_named_alone(tmp_path):
    write_mnist(tmp_path)
    (tmp_path / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DatasetError, match="expected t10k-labels-idx1-ubyte;") as error:
        load_data("mnist", str(tmp_path))
    assert "train-images" not in str(error.value)


def test_missing_imagefolder_says_what_and_how(tmp_path):
    with pytest.raises(DatasetError) as error:
        load_data("imagefolder", str(tmp_path))
    message = str(error.value)
    assert str(tmp_path) in message and "train/<class>/<image>" in message and "DATA_DIR" in message


@pytest.mark.parametrize("corrupt, match", [
    (lambda raw: raw[:2] + b"\x0d" + raw[3:], "bad header"),  # float32 IDX: not unsigned bytes
    (lambda raw: b"PK" + raw[2:], "bad header"),
    (lambda raw: raw[:-3], "truncated or corrupted"),
    (lambda raw: raw[:10], "truncated or corrupted"),  # cut inside the header's dims
    (lambda raw: raw + b"\x00", "truncated or corrupted"),
], ids=["dtype", "magic", "short-data", "short-header", "extra-byte"])
def test_corrupted_idx_file_raises_dataset_error(tmp_path, corrupt, match):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(corrupt(idx_bytes(indexed_images(4, (3, 3), seed=0))))
    with pytest.raises(DatasetError, match=match) as error:
        read_idx(path)
    assert str(path) in str(error.value)


def test_truncated_gz_idx_file_raises_dataset_error(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    compressed = gzip.compress(idx_bytes(indexed_images(4, (3, 3), seed=0)))
    path.write_bytes(compressed[: len(compressed) // 2])  # an interrupted download
    with pytest.raises(DatasetError, match="train-images-idx3-ubyte.gz"):
        read_idx(path)


def test_mismatched_image_and_label_counts(tmp_path):
    write_mnist(tmp_path)
    write_idx(tmp_path / "MNIST" / "raw" / "train-labels-idx1-ubyte", np.zeros(39, np.uint8))
    with pytest.raises(DatasetError, match="do not match"):
        load_data("mnist", str(tmp_path))


def _replace_file(name: str, content) -> Callable[[Path], None]:
    """A corruption that overwrites one file of a CIFAR-10 folder with raw bytes or a pickled object."""
    def corrupt(base: Path) -> None:
        if isinstance(content, bytes):
            (base / name).write_bytes(content)
        else:
            write_pickle(base / name, content)
    return corrupt


def _truncate(name: str) -> Callable[[Path], None]:
    def corrupt(base: Path) -> None:
        raw = (base / name).read_bytes()
        (base / name).write_bytes(raw[: len(raw) // 2])
    return corrupt


@pytest.mark.parametrize("corrupt", [
    _replace_file("data_batch_2", b"this is not a pickle"),
    _replace_file("data_batch_2", b""),
    _truncate("data_batch_3"),
    _truncate("test_batch"),
    _replace_file("data_batch_1", {b"labels": [0, 1, 2]}),  # no b"data"
    _replace_file("data_batch_1", {b"data": np.zeros((3, 100), np.uint8), b"labels": [0, 1, 2]}),
    _replace_file("test_batch", {"data": np.zeros((3, 3072), np.uint8), "labels": [0, 1, 2]}),  # str keys
    _replace_file("data_batch_4", [1, 2, 3]),  # not a dict
    _replace_file("batches.meta", {b"names": [b"a"]}),  # no label names
], ids=["text", "empty", "truncated-train", "truncated-test", "no-data-key", "wrong-row-size", "str-keys",
        "not-a-dict", "meta-without-names"])
def test_garbage_cifar_pickle_raises_dataset_error(tmp_path, corrupt):
    base = write_cifar(tmp_path)["base"]
    corrupt(base)
    with pytest.raises(DatasetError, match="cifar-10-batches-py"):
        load_data("cifar10", str(tmp_path))


class _RunsShellCommand:
    """Unpickling this runs a shell command: what a malicious 'dataset' would do."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def test_safe_unpickler_refuses_code_execution(tmp_path):
    base = write_cifar(tmp_path)["base"]
    marker = tmp_path / "pwned"
    write_pickle(base / "data_batch_1", {b"data": _RunsShellCommand(f"touch {marker}"), b"labels": [0]})
    with pytest.raises(DatasetError, match="refusing to load .*system"):
        load_data("cifar10", str(tmp_path))
    assert not marker.exists()
    # The same payload through plain pickle does run the command, so the check above means something.
    control = tmp_path / "control"
    pickle.loads(pickle.dumps(_RunsShellCommand(f"touch {control}")))
    assert control.exists()


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_cifar_batches_written_with_any_pickle_protocol_load(tmp_path, protocol):
    written = write_cifar(tmp_path, protocol=protocol)
    data = load_data("cifar10", str(tmp_path), val_fraction=0)
    assert data.test.labels.tolist() == written["test"][b"labels"]


# ---------------------------------------------------------------------------------------------
# Downloading, without a network


def _offline(*args, **kwargs):
    raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")


def test_a_download_error_over_several_lines_is_told_in_one(tmp_path, monkeypatch):
    def offline(*args, **kwargs):  # torchvision's own wording, as it prints without a network
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz:\nTried http://host/, got:\n"
                           "<urlopen error [Errno -2] Name or service not known>\n")

    monkeypatch.setattr(torchvision.datasets, TV_CLASSES["fashion_mnist"], offline)
    with pytest.raises(DatasetError) as error:
        load_data("fashion_mnist", str(tmp_path), download=True)
    message = str(error.value)
    assert "\n" not in message and "Tried http://host/, got: <urlopen error [Errno -2]" in message

@pytest.mark.parametrize("dataset", ["mnist", "fashion_mnist", "cifar10", "cifar100"])
def test_download_without_network_raises_dataset_error(tmp_path, monkeypatch, dataset):
    monkeypatch.setattr(torchvision.datasets, TV_CLASSES[dataset], _offline)
    with pytest.raises(DatasetError) as error:
        load_data(dataset, str(tmp_path), download=True)
    message = str(error.value)
    assert f"could not download {dataset!r} into {tmp_path}" in message
    assert "URLError" in message and "name resolution" in message
    assert "network" in message and "DATA_DIR" in message


@pytest.mark.parametrize("dataset", ["mnist", "fashion_mnist", "cifar10", "cifar100"])
def test_download_skipped_when_files_are_present(tmp_path, monkeypatch, dataset):
    calls = []
    monkeypatch.setattr(torchvision.datasets, TV_CLASSES[dataset], lambda *a, **k: calls.append((a, k)))
    if dataset in MNIST_FOLDERS:
        write_mnist(tmp_path, dataset, gz=True)
    else:
        write_cifar(tmp_path, dataset)
    data = load_data(dataset, str(tmp_path), download=True, val_fraction=0)
    assert calls == []
    assert len(data.train) > 0


# ---------------------------------------------------------------------------------------------
# The validation split


@pytest.mark.parametrize("val_fraction", [0.1, 0.25, 0.33])
def test_validation_split_is_seeded_disjoint_and_sized(mnist_root, val_fraction):
    def split_ids(seed):
        data = load_data("mnist", str(mnist_root), val_fraction=val_fraction, seed=seed)
        return image_ids(data.val.images), image_ids(data.train.images)

    val, train = split_ids(seed=0)
    assert len(val) == round(40 * val_fraction)
    assert not set(val) & set(train) and sorted(val + train) == list(range(40))
    assert split_ids(seed=0) == (val, train)
    assert split_ids(seed=1)[0] != val


def test_validation_labels_follow_their_images(mnist_root):
    data = load_data("mnist", str(mnist_root), val_fraction=0.25, seed=3)
    for split in (data.train, data.val):
        assert split.labels.tolist() == [i % 10 for i in image_ids(split.images)]


@pytest.mark.parametrize("cache", [True, False], ids=["cache", "lazy"])
def test_val_fraction_zero_validates_on_the_test_split(mnist_root, cache):
    data = load_data("mnist", str(mnist_root), val_fraction=0, cache=cache)
    assert data.val_is_test
    assert data.val is data.test and len(data.test) == 12
    assert len(data.train) == 40
    assert not load_data("mnist", str(mnist_root), val_fraction=0.1).val_is_test


@pytest.mark.parametrize("val_fraction", [0.99, 0.001])
def test_val_fraction_leaving_an_empty_split_is_refused(mnist_root, val_fraction):
    with pytest.raises(DatasetError, match=f"val_fraction {val_fraction} leaves"):
        load_data("mnist", str(mnist_root), val_fraction=val_fraction)


def test_subset_caps_only_the_training_split(mnist_root):
    full = load_data("mnist", str(mnist_root), val_fraction=0.25, seed=5)
    capped = load_data("mnist", str(mnist_root), val_fraction=0.25, seed=5, subset=7)
    assert len(capped.train) == 7
    assert image_ids(capped.train.images) == image_ids(full.train.images)[:7]
    assert torch.equal(capped.val.images, full.val.images) and len(capped.test) == len(full.test)


def test_data_dir_none_falls_back_to_the_environment(mnist_root, monkeypatch):
    monkeypatch.setenv("DATA_DIR", str(mnist_root))
    data = load_data("mnist", None)
    assert data.root == mnist_root and len(data.train) + len(data.val) == 40
    monkeypatch.setenv("DATA_DIR", str(mnist_root / "elsewhere"))
    with pytest.raises(DatasetError, match="elsewhere"):
        load_data("mnist", None)


# ---------------------------------------------------------------------------------------------
# Pipelines: DeviceLoader (cache) and SampleLoader (lazy) agree batch for batch


def loader_for(data, split, *, cache: bool, train: bool = True, batch_size: int = 4,
               augment: AugmentSpec | None = None, seed: int = 0, num_workers: int = 0):
    return make_loader(data, split, train=train, batch_size=batch_size, device=CPU, augment=augment or AugmentSpec(),
                       normalize_inputs=True, cache=cache, seed=seed, num_workers=num_workers)


def epoch_batches(loader, epoch: int = 0) -> list[tuple[torch.Tensor, torch.Tensor]]:
    loader.set_epoch(epoch)
    return list(loader)


def assert_same_batches(a, b) -> None:
    assert len(a) == len(b)
    for (xa, ya), (xb, yb) in zip(a, b):
        torch.testing.assert_close(xa, xb)
        assert torch.equal(ya, yb)


@pytest.mark.parametrize("source", ["mnist", "imagefolder"])
def test_device_and_sample_loaders_yield_identical_batches(tmp_path, source):
    if source == "mnist":
        write_mnist(tmp_path)
    else:
        write_imagefolder(tmp_path)
    cached = load_data(source, str(tmp_path), seed=2, cache=True)
    lazy = load_data(source, str(tmp_path), seed=2, cache=False)
    device_loader = loader_for(cached, cached.train, cache=True, seed=7)
    sample_loader = loader_for(lazy, lazy.train, cache=False, seed=7)
    assert isinstance(device_loader, DeviceLoader) and isinstance(sample_loader, SampleLoader)
    for epoch in (0, 1):
        batches = epoch_batches(device_loader, epoch)
        assert_same_batches(batches, epoch_batches(sample_loader, epoch))
    x, y = batches[0]  # epoch 1's first batch
    assert x.dtype == torch.float32 and y.dtype == torch.int64
    # Normalised with the dataset's statistics, not merely scaled to [0, 1].
    first = cached.train.images[epoch_order(len(cached.train), seed=7, epoch=1)[:4]]
    mean, std = torch.tensor(cached.mean).view(1, -1, 1, 1), torch.tensor(cached.std).view(1, -1, 1, 1)
    torch.testing.assert_close(x, (first.float() / 255 - mean) / std)


def test_epoch_changes_the_order_and_is_reproducible(mnist_root):
    data = load_data("mnist", str(mnist_root))
    loader = loader_for(data, data.train, cache=True)
    first, second = epoch_batches(loader, 0), epoch_batches(loader, 1)
    order = lambda batches: torch.cat([x for x, _ in batches]).flatten(1)[:, 0].tolist()  # noqa: E731
    assert sorted(order(first)) == sorted(order(second)) and order(first) != order(second)
    assert_same_batches(epoch_batches(loader, 0), first)


def test_evaluation_loader_keeps_file_order(mnist_root):
    data = load_data("mnist", str(mnist_root), val_fraction=0)
    for cache in (True, False):
        loader = loader_for(data, data.test, cache=cache, train=False)
        labels = torch.cat([y for _, y in epoch_batches(loader, 3)])
        assert torch.equal(labels, data.test.labels)


@pytest.mark.parametrize("n, train, sizes", [
    (10, True, [4, 4]), (10, False, [4, 4, 2]), (8, True, [4, 4]), (3, True, [3]), (4, True, [4])])
@pytest.mark.parametrize("cache", [True, False], ids=["device", "sample"])
def test_batch_count_and_drop_last(mnist_root, cache, n, train, sizes):
    data = load_data("mnist", str(mnist_root), val_fraction=0)
    split = data.train.select(torch.arange(n))
    loader = loader_for(data, split, cache=cache, train=train, batch_size=4)
    assert len(loader) == len(sizes)
    assert [len(y) for _, y in epoch_batches(loader)] == sizes


FULL_AUGMENT = AugmentSpec(crop_padding=2, flip=True, rotation=15.0, color_jitter=0.3, hue=0.1)


@pytest.mark.parametrize("channels", [3, 1], ids=["rgb", "grey"])
def test_sample_loader_augmentation_shapes_and_determinism(tmp_path, channels):
    write_imagefolder(tmp_path, channels=channels)
    data = load_data("imagefolder", str(tmp_path), cache=False, val_fraction=0)

    def batches(seed=0, num_workers=0, augment=FULL_AUGMENT):
        loader = loader_for(data, data.train, cache=False, seed=seed, num_workers=num_workers, augment=augment)
        return epoch_batches(loader, epoch=1)

    augmented = batches()
    for x, y in augmented:
        assert x.shape == (4, channels, 6, 5) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert_same_batches(augmented, batches())
    plain = batches(augment=AugmentSpec())
    assert not all(torch.equal(a[0], p[0]) for a, p in zip(augmented, plain))
    assert not all(torch.equal(a[0], b[0]) for a, b in zip(augmented, batches(seed=1)))


def test_sample_loader_workers_give_the_same_batches(rgb_folder):
    data = load_data("imagefolder", str(rgb_folder), cache=False, val_fraction=0)
    batches = {w: epoch_batches(loader_for(data, data.train, cache=False, num_workers=w, augment=FULL_AUGMENT), 2)
               for w in (0, 2)}
    assert_same_batches(batches[0], batches[2])


def test_device_loader_augmentation_is_seeded(rgb_folder):
    data = load_data("imagefolder", str(rgb_folder), cache=True, val_fraction=0)
    loader = loader_for(data, data.train, cache=True, augment=FULL_AUGMENT)
    first = epoch_batches(loader, 0)
    for x, _ in first:
        assert x.shape == (4, 3, 6, 5) and x.dtype == torch.float32
    assert_same_batches(epoch_batches(loader, 0), first)
    again = loader_for(data, data.train, cache=True, augment=FULL_AUGMENT)
    assert_same_batches(epoch_batches(again, 0), first)


@pytest.mark.parametrize("dataset", [d for d in DATASETS if d != "imagefolder"])  # an image folder's are its own
def test_the_config_layers_list_of_one_channel_datasets_matches_what_the_readers_load(tmp_path, dataset):
    from lib.config.runconfig import GRAYSCALE_DATASETS

    if dataset in MNIST_FOLDERS:
        write_mnist(tmp_path, dataset)
    elif dataset in CIFAR_FOLDERS:
        write_cifar(tmp_path, dataset)
    elif dataset != "digits":
        pytest.fail(f"no tiny files of {dataset} to load: add a writer to tests/dataset_files.py")
    data = load_data(dataset, str(tmp_path), val_fraction=0.2)
    assert (data.channels == 1) == (dataset in GRAYSCALE_DATASETS)
