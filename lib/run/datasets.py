"""Datasets as uint8 tensors, and the train/validation/test split.

Loaders read torchvision's on-disk formats directly (IDX files, CIFAR pickle batches, image
folders) and fail with a one-line DatasetError that names the file and says what was expected and
what to do: missing or corrupt files, labels outside the classes, empty class folders, images over
PIL's pixel limit. CIFAR batches are unpickled by an unpickler that builds only arrays and containers.
An image folder is decoded as RGB if any image in it is in colour, as grey only if all are grey.
The batches come from lib.run.loaders.
"""

from __future__ import annotations

import gzip
import importlib.util
import pickle
import re
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from lib.core.paths import data_root

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")


class DatasetError(RuntimeError):
    """A dataset is missing or unreadable. The message says what was expected and what to do."""


@dataclass(frozen=True)
class DatasetInfo:
    """Normalisation statistics in [0, 1] units; None: measured on the training split."""

    mean: tuple[float, ...] | None
    std: tuple[float, ...] | None


DATASETS = {
    "digits": DatasetInfo(None, None),
    "mnist": DatasetInfo((0.1307,), (0.3081,)),
    "fashion_mnist": DatasetInfo((0.2860,), (0.3530,)),
    "cifar10": DatasetInfo((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": DatasetInfo((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
    "imagefolder": DatasetInfo(None, None),
}


@dataclass
class Split:
    """Images and labels of one split. `images` is None while an image folder is not decoded."""

    labels: torch.Tensor  # (N,) int64
    images: torch.Tensor | None = None  # (N, C, H, W) uint8
    files: list[str] | None = None  # one path per image (image folders), decoded on demand when images is None

    def __len__(self) -> int:
        return len(self.labels)

    def select(self, index: torch.Tensor) -> "Split":
        return Split(
            labels=self.labels[index],
            images=None if self.images is None else self.images[index],
            files=None if self.files is None else [self.files[i] for i in index.tolist()],
        )

    def load(self, i: int, mode: str) -> torch.Tensor:
        """One image as uint8 (C, H, W)."""
        return self.images[i] if self.images is not None else _decode(self.files[i], mode)

    def decoded(self, mode: str) -> "Split":
        if self.images is not None:
            return self
        return replace(self, images=_stack([_decode(f, mode) for f in self.files], self.files))


@dataclass
class Data:
    """Everything a run needs to know about its data."""

    name: str
    root: Path
    train: Split
    val: Split
    test: Split
    classes: list[str]
    channels: int
    image_size: tuple[int, int]  # (H, W)
    mean: tuple[float, ...]
    std: tuple[float, ...]
    val_is_test: bool  # val_fraction 0: the test set doubles as validation

    @property
    def num_classes(self) -> int:
        return len(self.classes)


def load_data(dataset: str, data_dir: str | None = None, *, download: bool = False, val_fraction: float = 0.1,
              subset: int | None = None, seed: int = 0, cache: bool = True) -> Data:
    """Load a dataset, carve the validation split with `seed`, and cap the training split at `subset`."""
    root = data_root(data_dir)
    train, test, classes = _READERS[dataset](root, download)
    mode = _color_mode(train, test)
    perm = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))
    n_val = int(round(len(train) * val_fraction))
    if val_fraction > 0 and not 0 < n_val < len(train):
        raise DatasetError(f"val_fraction {val_fraction} leaves no validation or no training images "
                           f"out of {len(train)}; choose a value between 0 and 1 that keeps both")
    val = train.select(perm[:n_val]) if n_val else test
    train_index = perm[n_val:]
    if subset is not None:
        train_index = train_index[:subset]
    train = train.select(train_index)
    if cache:  # decode after splitting, so a subset of an image folder decodes only what it uses
        train, test = train.decoded(mode), test.decoded(mode)
        val = val.decoded(mode) if n_val else test
    sample = train.load(0, mode)
    info = DATASETS[dataset]
    mean, std = (info.mean, info.std) if info.mean else _measure_stats(train, mode)
    return Data(name=dataset, root=root, train=train, val=val, test=test, classes=classes,
                channels=sample.shape[0], image_size=tuple(sample.shape[1:]), mean=mean, std=std,
                val_is_test=n_val == 0)


def _measure_stats(split: Split, mode: str, limit: int = 5000) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std in [0, 1] over (up to `limit` of) the training images."""
    images = split.images[:limit] if split.images is not None else _stack(
        [split.load(i, mode) for i in range(min(limit, len(split)))], split.files)
    x = images.float().div_(255).transpose(0, 1).reshape(images.shape[1], -1)
    std = x.std(1).clamp_min(1e-3)
    return tuple(round(v, 4) for v in x.mean(1).tolist()), tuple(round(v, 4) for v in std.tolist())


# ---------------------------------------------------------------------------------------------
# Readers: (root, download) -> (train Split, test Split, class names)


def _missing(dataset: str, where: Path, expected: list[str], how: str) -> DatasetError:
    return DatasetError(f"dataset {dataset!r} not found under {where}: expected {', '.join(expected)}; {how}")


def _download_hint() -> str:
    return ("pass --download true (download: true) to fetch it with torchvision, or point DATA_DIR "
            "(--data-dir) at a folder that already holds it")


def read_digits(root: Path, download: bool):
    """scikit-learn's 1,797 8x8 digits, scaled to uint8; a fixed 20% test split (seed 0)."""
    pixels, target = _sklearn_digits()
    images = torch.from_numpy(np.clip(pixels * (255 / 16), 0, 255).round().astype(np.uint8)).reshape(-1, 1, 8, 8)
    labels = torch.from_numpy(target.astype(np.int64))
    perm = torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))
    n_test = len(labels) // 5
    test, train = perm[:n_test], perm[n_test:]
    return (Split(labels[train], images[train]), Split(labels[test], images[test]),
            [str(i) for i in range(10)])


def _sklearn_digits() -> tuple[np.ndarray, np.ndarray]:
    """(1797, 64) pixel values 0-16 and (1797,) labels. Reads the CSV that scikit-learn bundles,
    which skips importing scikit-learn itself (3 s); falls back to its loader if the file moved."""
    spec = importlib.util.find_spec("sklearn")
    csv = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz" if spec and spec.origin else None
    if csv is not None and csv.is_file():
        table = np.loadtxt(csv, delimiter=",", dtype=np.float64)
        return table[:, :-1], table[:, -1]
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.data, bunch.target


_IDX_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
              "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
_IDX_DTYPES = {0x08: np.uint8}


def read_idx(path: Path) -> np.ndarray:
    """Parse one IDX file (plain or .gz): a big-endian header, then the array."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as exc:  # gzip.BadGzipFile is an OSError
        raise DatasetError(f"{path} is truncated or not a valid file ({exc}); delete it and download again") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DatasetError(f"{path} is not an IDX file of unsigned bytes (bad header); delete it and download again")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    offset = 4 + 4 * ndim
    if len(raw) - offset != int(np.prod(shape)):
        raise DatasetError(f"{path} is truncated or corrupted: header says shape {shape}, "
                           f"found {len(raw) - offset} bytes of data; delete it and download again")
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(shape)


def _idx_path(raw_dir: Path, name: str) -> Path | None:
    for candidate in (raw_dir / name, raw_dir / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _read_mnist_like(dataset: str, folder: str, tv_class: str, classes: list[str]):
    def read(root: Path, download: bool):
        raw_dir = root / folder / "raw"
        names = [n for pair in _IDX_FILES.values() for n in pair]
        if download and any(_idx_path(raw_dir, n) is None for n in names):
            _torchvision_download(dataset, tv_class, root)
        paths = {n: _idx_path(raw_dir, n) for n in names}
        if any(p is None for p in paths.values()):
            raise _missing(dataset, raw_dir, [n for n, p in paths.items() if p is None], _download_hint())
        splits = []
        for images_name, labels_name in _IDX_FILES.values():
            images, labels = read_idx(paths[images_name]), read_idx(paths[labels_name])
            if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
                raise DatasetError(f"{paths[images_name]} and {paths[labels_name]} do not match "
                                   f"(images {images.shape}, labels {labels.shape}); download them again")
            splits.append(Split(_checked_labels(labels, len(classes), paths[labels_name]),
                                torch.from_numpy(images.copy()).unsqueeze(1)))
        return splits[0], splits[1], classes
    return read


_CIFAR = {
    "cifar10": ("cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)], ["test_batch"],
                "batches.meta", b"labels", b"label_names", "CIFAR10"),
    "cifar100": ("cifar-100-python", ["train"], ["test"], "meta", b"fine_labels", b"fine_label_names", "CIFAR100"),
}


class _SafeUnpickler(pickle.Unpickler):
    """Unpickles only the plain containers and numpy arrays that CIFAR batches hold."""

    _ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
                ("numpy._core.multiarray", "scalar"), ("numpy.core.numeric", "_frombuffer"),
                ("numpy._core.numeric", "_frombuffer"), ("_codecs", "encode")}  # the last: bytes in protocol 2

    def find_class(self, module: str, name: str):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _unpickle(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            return _SafeUnpickler(f, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as exc:
        raise DatasetError(f"{path} is not a readable CIFAR batch ({exc}); delete it and download again") from None


def _read_cifar(dataset: str):
    folder, train_files, test_files, meta_file, label_key, names_key, tv_class = _CIFAR[dataset]

    def read(root: Path, download: bool):
        base = root / folder
        expected = train_files + test_files + [meta_file]
        if download and not all((base / n).is_file() for n in expected):
            _torchvision_download(dataset, tv_class, root)
        missing = [n for n in expected if not (base / n).is_file()]
        if missing:
            raise _missing(dataset, base, missing, _download_hint())
        malformed = f"CIFAR files in {base} are malformed ({{}}); delete them and download again"
        try:
            classes = [n.decode() for n in _unpickle(base / meta_file)[names_key]]
        except (KeyError, TypeError, AttributeError) as exc:
            raise DatasetError(malformed.format(f"{meta_file}: {exc!r}")) from None
        splits = []
        for names in (train_files, test_files):
            batches = {base / n: _unpickle(base / n) for n in names}
            try:
                data = np.concatenate([b[b"data"] for b in batches.values()]).reshape(-1, 3, 32, 32)
                labels = torch.cat([_checked_labels(b[label_key], len(classes), path) for path, b in batches.items()])
            except (KeyError, ValueError, TypeError) as exc:
                raise DatasetError(malformed.format(repr(exc))) from None
            if len(data) != len(labels):
                raise DatasetError(malformed.format(f"{len(data)} images but {len(labels)} labels"))
            splits.append(Split(labels, torch.from_numpy(np.ascontiguousarray(data, dtype=np.uint8))))
        return splits[0], splits[1], classes
    return read


def _checked_labels(values, num_classes: int, source: Path) -> torch.Tensor:
    """The labels read from `source` as int64, if every one is an integer in [0, num_classes): a label
    outside would pass every training epoch and crash only at test time."""
    labels = np.asarray(values)
    if labels.ndim != 1 or (labels.size and labels.dtype.kind not in "iu"):
        raise DatasetError(f"{source}: labels must be a list of integers, found {labels.dtype} values of shape "
                           f"{labels.shape}; the file is corrupt or belongs to another dataset")
    bad = (labels < 0) | (labels >= num_classes)
    if bad.any():
        n = int(bad.sum())
        raise DatasetError(f"{source}: label {labels[bad][0]} is out of range ({n} label{'s' if n > 1 else ''} "
                           f"outside 0..{num_classes - 1}); the file is corrupt or belongs to another dataset")
    return torch.from_numpy(labels.astype(np.int64))


def _torchvision_download(dataset: str, tv_class: str, root: Path) -> None:
    import torchvision.datasets

    cls = getattr(torchvision.datasets, tv_class)
    try:
        for train in (True, False):
            cls(root=str(root), train=train, download=True)
    except Exception as exc:  # network errors come in many types; all mean the same to the user
        reason = " ".join(str(exc).split())  # torchvision's message spans lines: "Tried <url>, got:\n<error>"
        raise DatasetError(f"could not download {dataset!r} into {root} ({type(exc).__name__}: {reason}); "
                           f"check the network, or copy the files there by hand and set DATA_DIR") from None


def read_imagefolder(root: Path, download: bool):
    """`root/train/<class>/*.jpg` and `root/test/<class>/*.jpg`; classes are the sorted train folders."""
    folders = {s: root / s for s in ("train", "test")}
    missing = [f"{s}/<class>/<image>" for s, p in folders.items() if not p.is_dir()]
    if missing:
        raise _missing("imagefolder", root, missing,
                       "set --data-dir (or DATA_DIR) to the folder that holds train/ and test/")
    classes = sorted(d.name for d in folders["train"].iterdir() if d.is_dir())
    if not classes:
        raise _missing("imagefolder", folders["train"], ["one sub-folder per class"],
                       "add a folder of images per class")
    splits = []
    for folder in folders.values():
        files, labels, empty = [], [], []
        for class_dir in sorted(d for d in folder.iterdir() if d.is_dir()):
            if class_dir.name not in classes:
                raise DatasetError(f"{class_dir} is a class that train/ does not have; "
                                   f"valid classes: {', '.join(classes)}")
            found = sorted(str(p) for p in class_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            files += found
            labels += [classes.index(class_dir.name)] * len(found)
            if not found:
                empty.append(str(class_dir))
        if empty:  # refused as torchvision's ImageFolder does: in train/ it would be a class never seen
            s = "s" if len(empty) > 1 else ""
            shown = ", ".join(empty[:5]) + (f" and {len(empty) - 5} more" if len(empty) > 5 else "")
            raise DatasetError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in class folder{s} {shown}; "
                               f"add images or remove the folder{s}")
        if not files:
            raise _missing("imagefolder", folder, [f"images ({', '.join(IMAGE_SUFFIXES)}) in class folders"],
                           "put the images in one sub-folder per class")
        splits.append(Split(torch.tensor(labels, dtype=torch.int64), files=files))
    return splits[0], splits[1], classes


_GREY_MODES = {"1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"}


def _color_mode(*splits: Split) -> str:
    """'RGB' or 'GRAY': what the dataset is decoded to. An image folder is 'RGB' if any of its images is
    in colour. Every image's header is read (not its pixels), so unreadable files and images over PIL's
    pixel limit are reported before training starts, also when images are decoded later in workers."""
    if all(split.images is not None for split in splits):
        return "RGB" if splits[0].images.shape[1] == 3 else "GRAY"
    modes = set()
    for split in splits:
        for path in split.files:
            with _open_image(path) as image:
                modes.add(image.mode)
    return "GRAY" if modes <= _GREY_MODES else "RGB"


def _undecodable(path: str, exc: Exception) -> DatasetError:
    return DatasetError(f"cannot decode image {path} ({exc}); remove or replace the file")


def _open_image(path: str):
    """The PIL image at `path`, only its header read yet. PIL merely warns about an image between its pixel
    limit and twice that, then decodes it; here any image over the limit is refused."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(path)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        found = re.search(r"\((\d+) pixels\)", str(exc))
        raise DatasetError(f"image {path} has {found.group(1) if found else 'too many'} pixels, over PIL's limit "
                           f"of {Image.MAX_IMAGE_PIXELS} (PIL.Image.MAX_IMAGE_PIXELS, a guard against decompression "
                           f"bombs); downscale or remove it, or raise that limit if you trust the file") from None
    except (OSError, ValueError) as exc:  # UnidentifiedImageError is an OSError
        raise _undecodable(path, exc) from None


def _decode(path: str, mode: str) -> torch.Tensor:
    """One image file as uint8 (C, H, W): 3 channels for 'RGB', 1 for 'GRAY'."""
    with _open_image(path) as image:
        try:
            array = np.asarray(image.convert("RGB" if mode == "RGB" else "L"))
        except (OSError, ValueError) as exc:  # truncated or corrupt pixel data
            raise _undecodable(path, exc) from None
    return torch.from_numpy(array.copy()).permute(2, 0, 1) if array.ndim == 3 else torch.from_numpy(array.copy())[None]


def _stack(images: list[torch.Tensor], files: list[str] | None) -> torch.Tensor:
    shapes = {tuple(im.shape) for im in images}
    if len(shapes) > 1:
        first = tuple(images[0].shape)
        odd = next(i for i, im in enumerate(images) if tuple(im.shape) != first)
        where = f" ({files[0]} is {first}, {files[odd]} is {tuple(images[odd].shape)})" if files else ""
        raise DatasetError(f"images differ in size{where}; resize them to one size first")
    return torch.stack(images)


_READERS = {
    "digits": read_digits,
    "mnist": _read_mnist_like("mnist", "MNIST", "MNIST", [str(i) for i in range(10)]),
    "fashion_mnist": _read_mnist_like("fashion_mnist", "FashionMNIST", "FashionMNIST",
                                      ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                                       "Shirt", "Sneaker", "Bag", "Ankle boot"]),
    "cifar10": _read_cifar("cifar10"),
    "cifar100": _read_cifar("cifar100"),
    "imagefolder": read_imagefolder,
}
