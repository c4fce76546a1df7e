"""Hostile and broken inputs: planted weight files, misleading image folders, labels outside the classes.

Each case must end in one line that names the bad file or value, what is valid and what to do, and
nothing that a planted file holds may run. Files are written here in their real formats; nothing
reaches the network (downloads are replaced by stand-ins that fail or copy a local file).
"""

import hashlib
import os
import pickle
import shutil
import urllib.error
from pathlib import Path

import pytest
import torch

from lib.models import WeightsError, build_model
from lib.models import resnet_imagenet

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

