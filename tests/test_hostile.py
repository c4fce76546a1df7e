"""Hostile and broken inputs: planted weight files, misleading image folders, labels outside the classes,
sweep files that explode or collide, bad values, concurrent sweeps, corrupt records and a full disk.

Each case must end in one line that names the bad file or value, what is valid and what to do, and
nothing that a planted file holds may run. Files are written here in their real formats; nothing
reaches the network (downloads are replaced by stand-ins that fail or copy a local file).
"""

import errno
import hashlib
import html
import json
import os
import pickle
import shutil
import subprocess
import sys
import time
import urllib.error
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from dataset_files import write_cifar, write_idx, write_imagefolder, write_mnist, write_pickle
from PIL import Image

from lib.run.datasets import DatasetError, load_data
from lib.run.models import WeightsError, build_model, resnet_imagenet

TORCHVISION_FILE = "resnet18-f37072fd.pth"  # the name torchvision publishes ResNet-18's ImageNet weights under


class _MakesDirectory:
    """Unpickling this creates a directory: proof that a planted file ran code."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return os.mkdir, (str(self.path),)


def one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message and "Traceback" not in message
    return message


# ---------------------------------------------------------------------------------------------
# Cached ImageNet weights


@pytest.fixture
def hub_cache(tmp_path, monkeypatch) -> Path:
    """$TORCH_HOME/hub/checkpoints, with downloads failing as they do offline."""
    def offline(url, dst, hash_prefix=None, progress=True):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    cache = tmp_path / "torch-home" / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    return cache


def named_by_its_hash(saved: Path, monkeypatch) -> Path:
    """Rename `saved` to resnet18-<its SHA-256 prefix>.pth and make that the published URL."""
    name = f"resnet18-{hashlib.sha256(saved.read_bytes()).hexdigest()[:8]}.pth"
    monkeypatch.setattr(resnet_imagenet, "imagenet_weights_url", lambda: f"https://download.pytorch.org/models/{name}")
    return saved.rename(saved.with_name(name))


def resnet18_state(path: Path) -> dict[str, torch.Tensor]:
    from torchvision.models import resnet18

    torch.manual_seed(1)
    state = resnet18().state_dict()
    torch.save(state, path)
    return state


def test_torchvision_file_name_gives_the_expected_hash():
    assert Path(resnet_imagenet.imagenet_weights_url()).name == TORCHVISION_FILE
    assert resnet_imagenet.expected_hash_prefix(TORCHVISION_FILE) == "f37072fd"


def test_malicious_pickle_planted_in_the_weights_cache_is_refused(hub_cache, tmp_path):
    marker = tmp_path / "ran"
    planted = hub_cache / TORCHVISION_FILE
    planted.write_bytes(pickle.dumps(_MakesDirectory(marker)))
    with pytest.raises(WeightsError) as error:
        build_model("resnet18_imagenet", 3, 10, 32, pretrained=True)
    message = one_line(error)
    assert str(planted) in message and "fail their hash check" in message and "expected f37072fd" in message
    assert "delete the file" in message
    assert not marker.exists()
    pickle.loads(planted.read_bytes())  # the payload does run when unpickled, so the check above means something
    assert marker.is_dir()


def test_malicious_pickle_with_a_matching_hash_is_not_unpickled(hub_cache, tmp_path, monkeypatch):
    marker = tmp_path / "ran"
    saved = hub_cache / "planted.pth"
    torch.save({"conv1.weight": _MakesDirectory(marker)}, saved)
    planted = named_by_its_hash(saved, monkeypatch)
    with pytest.raises(WeightsError) as error:
        build_model("resnet18_imagenet", 3, 10, 32, pretrained=True)
    message = one_line(error)
    assert str(planted) in message and "weights_only=True" in message and "posix.mkdir" in message
    assert "weights_only` set to `False`" not in message  # torch's advice to retry unsafely is dropped
    assert not marker.exists()


def test_cached_state_dict_with_a_wrong_hash_is_refused(hub_cache):
    resnet18_state(hub_cache / TORCHVISION_FILE)
    with pytest.raises(WeightsError) as error:
        build_model("resnet18_imagenet", 3, 10, 32, pretrained=True)
    message = one_line(error)
    assert f"cached weights {hub_cache / TORCHVISION_FILE} fail their hash check" in message
    assert "expected f37072fd" in message and "delete the file so it is downloaded again" in message


def test_missing_weights_offline_say_where_to_put_the_file(hub_cache):
    with pytest.raises(WeightsError) as error:
        build_model("resnet18_imagenet", 3, 10, 32, pretrained=True)
    message = one_line(error)
    assert "could not download ImageNet weights" in message and "name resolution" in message
    assert f"put {TORCHVISION_FILE} in {hub_cache} or pass weights_file" in message


def test_download_checks_the_hash_in_the_file_name(hub_cache, tmp_path, monkeypatch):
    state = resnet18_state(tmp_path / "published.pth")
    published = named_by_its_hash(tmp_path / "published.pth", monkeypatch)
    calls = []

    def download(url, dst, hash_prefix=None, progress=True):
        calls.append((url, dst, hash_prefix))
        shutil.copy(published, dst)

    monkeypatch.setattr(torch.hub, "download_url_to_file", download)
    model = build_model("resnet18_imagenet", 3, 10, 32, pretrained=True)
    assert calls == [(resnet_imagenet.imagenet_weights_url(), str(hub_cache / published.name), published.name[9:17])]
    assert torch.equal(model.layer1[0].conv1.weight, state["layer1.0.conv1.weight"])


def test_weights_file_holding_code_is_refused(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "weights.pth"
    torch.save({"conv1.weight": _MakesDirectory(marker)}, path)
    with pytest.raises(WeightsError) as error:
        build_model("resnet18_imagenet", 3, 10, 32, weights_file=str(path))
    message = one_line(error)
    assert str(path) in message and "weights_only=True" in message and "replace it" in message
    assert not marker.exists()


# ---------------------------------------------------------------------------------------------
# Image folders


def save_grey(path: Path, size: tuple[int, int] = (6, 5)) -> None:
    Image.fromarray(np.full(size, 77, np.uint8), mode="L").save(path)


@pytest.mark.parametrize("grey", ["first-train-image", "all-train-images"])
def test_grey_images_do_not_turn_a_colour_folder_grey(tmp_path, grey):
    write_imagefolder(tmp_path)
    targets = sorted((tmp_path / "train").glob("*/*.png"))
    for path in targets[:1] if grey == "first-train-image" else targets:
        save_grey(path)
    data = load_data("imagefolder", str(tmp_path), val_fraction=0)
    assert data.channels == 3 and data.train.images.shape[1] == 3
    first = data.train.images[data.train.labels == 0]  # cat: its first image is grey in both cases
    assert any(torch.equal(im, torch.full((3, 6, 5), 77, dtype=torch.uint8)) for im in first)


def test_empty_class_folder_is_refused(tmp_path):
    write_imagefolder(tmp_path)
    (tmp_path / "train" / "yak").mkdir()
    (tmp_path / "train" / "zebra").mkdir()
    (tmp_path / "train" / "zebra" / "notes.txt").write_text("not an image")
    with pytest.raises(DatasetError) as error:
        load_data("imagefolder", str(tmp_path))
    message = one_line(error)
    assert f"in class folders {tmp_path / 'train' / 'yak'}, {tmp_path / 'train' / 'zebra'};" in message
    assert ".png" in message and "add images or remove the folders" in message


@pytest.mark.parametrize("side", [12, 40], ids=["warning-range", "error-range"])
@pytest.mark.parametrize("cache", [True, False], ids=["cache", "lazy"])
def test_image_over_the_pixel_limit_is_one_dataset_error(tmp_path, monkeypatch, side, cache):
    # PIL warns between its limit and twice that (and would decode the image), and raises above.
    write_imagefolder(tmp_path)
    huge = tmp_path / "test" / "dog" / "001.png"
    Image.new("RGB", (side, side)).save(huge)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning that escapes would fail the test
        with pytest.raises(DatasetError) as error:
            load_data("imagefolder", str(tmp_path), cache=cache)
    message = one_line(error)
    assert f"image {huge} has {side * side} pixels, over PIL's limit of 100" in message
    assert "PIL.Image.MAX_IMAGE_PIXELS" in message and "downscale or remove it" in message


def test_image_over_the_pixel_limit_is_refused_when_decoded_later(tmp_path, monkeypatch):
    write_imagefolder(tmp_path)
    data = load_data("imagefolder", str(tmp_path), cache=False, val_fraction=0)
    Image.new("RGB", (40, 40)).save(data.train.files[0])  # replaced after loading, before the epoch reads it
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    with pytest.raises(DatasetError) as error:
        data.train.load(0, "RGB")
    assert f"image {data.train.files[0]} has 1600 pixels, over PIL's limit of 100" in one_line(error)


# ---------------------------------------------------------------------------------------------
# Labels outside the classes


def test_idx_label_out_of_range_is_refused_at_load(tmp_path):
    written = write_mnist(tmp_path)
    labels = written["test_labels"].copy()
    labels[[2, 5, 7]] = [200, 10, 255]
    path = write_idx(tmp_path / "MNIST" / "raw" / "t10k-labels-idx1-ubyte", labels)
    with pytest.raises(DatasetError) as error:
        load_data("mnist", str(tmp_path))
    assert one_line(error) == (f"{path}: label 200 is out of range (3 labels outside 0..9); "
                               f"the file is corrupt or belongs to another dataset")


@pytest.mark.parametrize("dataset, file, labels, expected", [
    ("cifar10", "data_batch_3", [0, 10, 1], "label 10 is out of range (1 label outside 0..9)"),
    ("cifar10", "test_batch", [-1, 4, 12, 3, 2], "label -1 is out of range (2 labels outside 0..9)"),
    ("cifar100", "test", [5, 99, 100, 0, 7], "label 100 is out of range (1 label outside 0..99)"),
    ("cifar10", "data_batch_1", [0.0, 1.5, 2.0], "labels must be a list of integers, found float64"),
], ids=["cifar10-train", "cifar10-test", "cifar100-test", "not-integers"])
def test_cifar_label_out_of_range_is_refused_at_load(tmp_path, dataset, file, labels, expected):
    written = write_cifar(tmp_path, dataset)
    key = written["label_key"]
    batch = written["test"] if file in ("test_batch", "test") else written["train"][int(file[-1]) - 1]
    write_pickle(written["base"] / file, {**batch, key: labels, b"data": batch[b"data"][:len(labels)]})
    with pytest.raises(DatasetError) as error:
        load_data(dataset, str(tmp_path))
    message = one_line(error)
    assert message.startswith(f"{written['base'] / file}: {expected}")
    assert message.endswith("; the file is corrupt or belongs to another dataset")


def test_bad_label_ends_a_training_run_with_one_line_before_training(tmp_path, capsys):
    from lib.run.cli import main

    written = write_mnist(tmp_path / "data")
    labels = written["test_labels"].copy()
    labels[0] = 200
    write_idx(tmp_path / "data" / "MNIST" / "raw" / "t10k-labels-idx1-ubyte", labels)
    code = main(["--dataset", "mnist", "--data-dir", str(tmp_path / "data"), "--out-dir", str(tmp_path / "run"),
                 "--model", "mlp", "--epochs", "1"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.strip().splitlines() == [f"error: {tmp_path / 'data/MNIST/raw/t10k-labels-idx1-ubyte'}: label 200 is "
                                        f"out of range (1 label outside 0..9); the file is corrupt or belongs to "
                                        f"another dataset"]
    assert not (tmp_path / "run" / "history.csv").exists()


# ---------------------------------------------------------------------------------------------
# Sweep files, values and run folders

from lib.config.runconfig import RunConfig  # noqa: E402
from lib.config.errors import ConfigError, SweepFileError  # noqa: E402
from lib.config.sweepfile import load_sweep  # noqa: E402
from lib.sweep.cli import main as sweep_main  # noqa: E402


def sweep_file(tmp_path, text, name="sweep.yaml"):
    path = tmp_path / name
    path.write_text(text) if isinstance(text, str) else path.write_bytes(text)
    return path


@pytest.mark.parametrize("text, count", [
    ("grid: {" + ", ".join(f"{k}: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]" for k in
                           ("epochs", "batch_size", "step_size", "patience", "crop_padding", "seed")) + "}", "1,000,000"),
    ("grid: {" + ", ".join(f"{k}: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]" for k in
                           ("epochs", "batch_size", "step_size", "patience", "crop_padding", "seed", "num_workers",
                            "plateau_patience", "subset", "input_size", "t_max", "num_threads")) + "}",
     "1,000,000,000,000"),
    ("random: {samples: 100000000000, space: {lr: {log_uniform: [0.001, 0.1]}}}", "100,000,000,000"),
])
def test_a_huge_sweep_is_refused_before_it_is_expanded(tmp_path, text, count):
    start = time.monotonic()
    with pytest.raises(SweepFileError, match=f"describes {count} runs, above the cap of 10,000; .* --max-runs"):
        load_sweep(sweep_file(tmp_path, "name: big\n" + text + "\n"))
    assert time.monotonic() - start < 2


def test_the_run_cap_is_configurable(tmp_path, capsys):
    path = sweep_file(tmp_path, "name: capped\ngrid: {lr: [0.1, 0.01, 0.001]}\n")
    assert sweep_main(["run", str(path), "--dry-run", "--max-runs", "2", "--reports-dir", str(tmp_path)]) == 2
    assert "describes 3 runs, above the cap of 2" in capsys.readouterr().err


def test_a_float_sample_count_is_refused(tmp_path):
    with pytest.raises(SweepFileError, match=r"random.samples must be a whole number from 1 to 100,000 \(how many runs the search may start\), got 100000000000.0"):
        load_sweep(sweep_file(tmp_path, "name: s\nrandom: {samples: 1e11, space: {lr: [0.1]}}\n"))


def test_a_yaml_alias_bomb_is_refused_quickly(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, "
              f"*a{i - 1}, *a{i - 1}]" for i in range(1, 9)]
    start = time.monotonic()
    with pytest.raises(SweepFileError, match="expands to more than 100,000 values once its YAML aliases"):
        load_sweep(sweep_file(tmp_path, "\n".join(lines) + "\nname: bomb\n"))
    assert time.monotonic() - start < 2


def test_grid_values_must_be_single_values(tmp_path):
    with pytest.raises(SweepFileError, match=r"grid.lr: value \[0.1, 0.2\] of lr is a list"):
        load_sweep(sweep_file(tmp_path, "name: n\ngrid: {lr: [[0.1, 0.2], 0.3]}\n"))


def test_repeated_grid_values_and_colliding_names_are_refused_naming_both(tmp_path):
    with pytest.raises(SweepFileError, match=r"grid.seed lists 0 twice; .*seeds: \[0, 1, 2\]"):
        load_sweep(sweep_file(tmp_path, "name: d\nfixed: {model: lenet, epochs: 1}\ngrid: {seed: [0, 0]}\n"))
    text = "name: d\nfixed: {model: lenet}\ngrid: {epochs: [1, 2]}\nruns: [{name: ep1, epochs: 3}]\n"
    with pytest.raises(SweepFileError, match=r"run name 'ep1' comes from both grid item 1 and runs\[0\]"):
        load_sweep(sweep_file(tmp_path, text))


def test_a_large_learning_rate_is_not_named_like_a_small_one(tmp_path):
    sweep = load_sweep(sweep_file(tmp_path, "name: lr\ngrid: {lr: [1.0e+6, 1.0e-6]}\n"))
    assert [r.name for r in sweep.runs] == ["lr1e6", "lr1e-6"]


@pytest.mark.parametrize("values, message", [
    ({"seed": 10**13}, "seed 10000000000000 is out of range: expected 0 <= value <= 4294967295"),
    ({"num_threads": 100000}, "num_threads 100000 is out of range: expected 1 <= value <= 1024"),
    ({"device": "cuda:99999"}, "device 'cuda:99999' is not one of: auto, cpu, cuda, cuda:N (N from 0 to 127), mps"),
    ({"lr": float("inf")}, "lr inf is not a finite number"),
    ({"mix_alpha": float("nan")}, "mix_alpha nan is not a finite number"),
])
def test_values_that_used_to_crash_later_are_refused_at_once(values, message):
    with pytest.raises(ConfigError) as error:
        RunConfig.from_dict(values)
    assert str(error.value) == message


def test_lr_inf_in_a_sweep_file_names_the_run(tmp_path):
    with pytest.raises(SweepFileError, match=r"run 'lr' \(fixed\): lr inf is not a finite number"):
        load_sweep(sweep_file(tmp_path, "name: lr\nfixed: {lr: .inf}\n"))


@pytest.mark.parametrize("flag, value", [("--timeout", "-1"), ("--timeout", "nan"), ("--timeout", "0"),
                                         ("--workers", "0"), ("--max-runs", "0")])
def test_bad_sweep_flags_are_one_line_errors(tmp_path, capsys, flag, value):
    path = sweep_file(tmp_path, "name: f\nfixed: {dataset: digits}\n")
    assert sweep_main(["run", str(path), flag, value, "--reports-dir", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {flag} {value if value != 'nan' else 'nan'}") and "\n" not in err
    assert not (tmp_path / "r").exists()


def test_duplicate_yaml_keys_are_refused_with_the_line(tmp_path):
    with pytest.raises(SweepFileError, match=r"line 4, column 3: key 'lr' appears twice in one mapping \(first on "
                                             r"line 3\); keep one"):
        load_sweep(sweep_file(tmp_path, "name: dup\nfixed:\n  lr: 0.1\n  lr: 0.2\n"))


def test_a_sweep_file_that_is_not_utf8_is_one_line(tmp_path):
    path = sweep_file(tmp_path, "name: latin\ndescription: caf\xe9\n".encode("latin-1"))
    with pytest.raises(SweepFileError, match=r"is not UTF-8 text \(byte 0xe9 on line 2\); save it with UTF-8"):
        load_sweep(path)


def _finished_run(root, name):
    run_dir = root / "runs" / name
    run_dir.mkdir(parents=True)
    (run_dir / "metrics.json").write_text(json.dumps({"status": "completed", "epochs_run": 1, "val_acc": 0.5}))
    return run_dir


def test_corrupt_failure_and_config_files_are_named_and_nothing_crashes(tmp_path, capsys):
    path = sweep_file(tmp_path, "name: rec\nfixed: {dataset: digits}\nruns: [{name: a}, {name: b}]\n")
    root = tmp_path / "r" / "rec"
    (root / "runs" / "a").mkdir(parents=True)
    (root / "runs" / "a" / "failure.json").write_text("{not json")
    (root / "runs" / "b").mkdir(parents=True)
    (root / "runs" / "b" / "config.json").write_text("\x00\x01")
    assert sweep_main(["status", str(path), "--reports-dir", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[2].split()[:2] == ["a", "failed"]
    assert sweep_main(["run", str(path), "--dry-run", "--reports-dir", str(tmp_path / "r")]) == 0
    captured = capsys.readouterr()
    assert f"{root / 'runs' / 'b' / 'config.json'} is unreadable" in captured.err
    assert "would execute 1: b" in captured.out  # a waits for --retry-failed, like any failed run
    from lib.core.records import run_state

    state = run_state(root / "runs" / "a")
    assert state.status == "failed" and "failure.json is unreadable" in state.error


def test_a_full_disk_ends_the_sweep_with_one_line(tmp_path, capsys, monkeypatch):
    import lib.sweep.plan

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / "r" / "disk" / "sweep.json"))

    monkeypatch.setattr(lib.sweep.plan, "write_json", no_space)
    path = sweep_file(tmp_path, "name: disk\nfixed: {dataset: digits}\n")
    assert sweep_main(["run", str(path), "--reports-dir", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: No space left on device") and "sweep.json" in err and "resume" in err
    assert "\n" not in err


def test_a_finished_run_is_never_executed_again(tmp_path):
    from lib.config.sweepfile import RunSpec
    from lib.sweep.executors.base import execute_run, run_task

    run_dir = _finished_run(tmp_path, "done")
    before = (run_dir / "metrics.json").stat().st_mtime_ns
    spec = RunSpec("done", {"dataset": "digits"}, "test", sweep="s")
    outcome = execute_run(run_task(spec, str(run_dir), str(run_dir), "no.ipynb"))
    assert outcome.status == "completed"
    assert (run_dir / "metrics.json").stat().st_mtime_ns == before
    assert not (run_dir / "params.yaml").exists() and not (run_dir / "run.log").exists()


def test_a_second_sweep_process_exits_at_once_naming_the_first(tmp_path, capsys):
    from lib.sweep.plan import sweep_lock

    path = sweep_file(tmp_path, "name: busy\nfixed: {dataset: digits}\n")
    root = tmp_path / "r" / "busy"
    with sweep_lock(root, "busy"):
        assert sweep_main(["run", str(path), "--reports-dir", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert f"sweep 'busy' is already running (pid {os.getpid()} on {os.uname().nodename}, started " in err
    assert not (root / "runs").exists()


@pytest.mark.slow
def test_two_sweep_processes_started_together_execute_each_run_once(tmp_path):
    path = sweep_file(tmp_path, "name: twice\nfixed: {dataset: digits, model: mlp, epochs: 2}\n"
                                "grid: {lr: [0.1, 0.05, 0.02]}\n")
    command = [sys.executable, "-m", "lib.sweep", "run", str(path), "--reports-dir", str(tmp_path / "r"),
               "--no-report"]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    second = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    results = [(p.wait(timeout=300), p.communicate()) for p in (first, second)]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    loser_err = next(err for code, (_, err) in results if code == 2)
    assert "is already running (pid" in loser_err
    for name in ("lr0.1", "lr0.05", "lr0.02"):
        run_dir = tmp_path / "r" / "twice" / "runs" / name
        assert (run_dir / "run.log").read_text().count("\n=== ") == 1
        assert json.loads((run_dir / "metrics.json").read_text())["status"] == "completed"
        assert not (run_dir / "failure.json").exists()



# ---------------------------------------------------------------------------------------------
# Damaged run records: one line naming the file and the problem; the other runs are reported

DAMAGED_GRID = ("name: dmg\nfixed: {dataset: digits, epochs: 3, model: mlp}\ngrid: {lr: [0.001, 0.01, 0.1]}\n"
                "seeds: [0, 1]\n")
DAMAGED_RUN = "lr0.1-seed0"  # the largest lr: believed, a damaged accuracy there would move the proposal's edge
DAMAGE = {  # kind: (file, what is written (a dict updates metrics.json), what the line says)
    "metrics-list": ("metrics.json", "[1, 2]", "holds a JSON list, not an object of metrics"),
    "config-list": ("config.json", "[1, 2]", "holds a JSON list, not an object of settings"),
    "history-long-field": ("history.csv", "epoch,val_acc\n1," + "9" * 200_000 + "\n", "field larger than field limit"),
    "val_acc-5": ("metrics.json", {"val_acc": 5.0}, "val_acc is 5, outside [0, 1]"),
    "val_acc-1e308": ("metrics.json", {"val_acc": 1e308}, "val_acc is 1e+308, outside [0, 1]"),
    "val_acc-nan": ("metrics.json", {"val_acc": float("nan")}, "val_acc is nan, not a finite number"),
    "test_acc-inf": ("metrics.json", {"test_acc": float("inf")}, "test_acc is inf, not a finite number"),
}


@pytest.fixture(params=list(DAMAGE))
def damaged(request, tmp_path):
    """A finished grid of 6 runs (lr 0.01 the best) with one record of lr0.1-seed0 damaged; (sweep file, sweep
    folder, the damaged file, what its line must say)."""
    from benchmarks.synthetic import Outcome, write_sweep

    path, root = tmp_path / "dmg.yaml", tmp_path / "reports" / "dmg"
    write_sweep(path, DAMAGED_GRID, root, lambda p: Outcome(0.9 if p["lr"] == 0.01 else 0.85, best_epoch=2))
    file, content, says = DAMAGE[request.param]
    target = root / "runs" / DAMAGED_RUN / file
    if isinstance(content, dict):
        content = json.dumps({**json.loads(target.read_text()), **content})  # NaN and Infinity as Python writes them
    target.write_text(content)
    return path, root, target, says


def test_status_names_a_damaged_record_and_lists_the_other_runs(damaged, capsys):
    path, root, target, says = damaged
    assert sweep_main(["status", str(path), "--reports-dir", str(root.parent)]) == 0
    out = capsys.readouterr().out
    assert f"damaged: {DAMAGED_RUN}: {target}: {says}" in out
    assert "6 runs: " in out and "5 completed" in out
    assert [line.split()[1] for line in out.splitlines() if line.startswith(DAMAGED_RUN)] == ["damaged"]


def test_next_leaves_a_damaged_run_out_of_the_proposal(damaged, capsys):
    path, root, target, says = damaged
    out_file = path.parent / "dmg_next.yaml"
    assert sweep_main(["next", str(path), "--reports-dir", str(root.parent), "--out", str(out_file)]) == 0
    captured = capsys.readouterr()
    assert f"warning: {DAMAGED_RUN} is left out: {target}: {says}" in captured.err
    assert "largest value" not in captured.out  # the best is lr 0.01, inside the grid: no edge to extend


def test_report_leaves_a_damaged_run_out_and_says_so(damaged, shown):
    from lib.report import contents, links, sections
    from lib.report.analysis import analysis_of
    from lib.report.load import load_report

    path, root, target, says = damaged
    report = load_report(root)
    assert DAMAGED_RUN not in set(report.ranked["run"]) and len(report.ranked) == 5
    assert int(analysis_of(report).configs["n"].sum()) == 5  # the configurations' means are over the 5 other runs
    links.set_output(report, root)
    for show in (contents.show_title, sections.show_findings, sections.show_best, sections.show_overview,
                 sections.show_leaderboard, sections.show_configs, sections.show_effects, sections.show_next,
                 sections.show_failures):
        show(report)
    page = "\n".join(shown)
    assert "statistics rest on 5 of 6 runs" in page
    failures = page[page.index('<h2 id="failures">'):]
    assert DAMAGED_RUN in failures and "damaged" in failures
    assert html.escape(f"runs/{DAMAGED_RUN}/{target.name}: {says}") in failures  # relative to the report's folder
    assert str(root) not in page
