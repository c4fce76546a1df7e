"""Every registered model: forward shapes for any channel count and input size, weights loading."""

import hashlib

import pytest
import torch

from lib.run.models import MODELS, Upsample, build_model
from lib.run.models.resnet_imagenet import adapt_stem
from lib.config import runconfig


def test_registry_matches_the_config_choices():
    assert tuple(MODELS) == runconfig.MODELS


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("size", [8, 28, 32])
def test_forward_shapes(name, channels, size):
    torch.manual_seed(0)
    model = build_model(name, channels, 7, size).eval()
    with torch.no_grad():
        out = model(torch.randn(2, channels, size, size))
    assert out.shape == (2, 7) and out.dtype == torch.float32 and torch.isfinite(out).all()


@pytest.mark.parametrize("name", list(MODELS))
def test_one_training_step_changes_every_parameter_group(name):
    torch.manual_seed(0)
    model = build_model(name, 3, 5, 16)
    before = [p.detach().clone() for p in model.parameters()]
    loss = torch.nn.functional.cross_entropy(model(torch.randn(4, 3, 16, 16)), torch.tensor([0, 1, 2, 3]))
    loss.backward()
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_input_size_upsamples_before_the_network():
    model = build_model("resnet18_imagenet", 3, 100, 32, input_size=224).eval()
    assert isinstance(model, Upsample) and model.size == 224
    seen = {}

    def record(module, inputs, output):
        seen["shape"] = inputs[0].shape

    model.net.conv1.register_forward_hook(record)
    with torch.no_grad():
        assert model(torch.randn(1, 3, 32, 32)).shape == (1, 100)
    assert seen["shape"] == (1, 3, 224, 224)


def _imagenet_state_dict():
    from torchvision.models import resnet18

    torch.manual_seed(1)
    return resnet18().state_dict()


def test_pretrained_from_a_local_weights_file(tmp_path):
    state = _imagenet_state_dict()
    path = tmp_path / "resnet18.pth"
    torch.save(state, path)
    model = build_model("resnet18_imagenet", 3, 10, 32, weights_file=str(path))
    assert torch.equal(model.layer1[0].conv1.weight, state["layer1.0.conv1.weight"])
    assert model.fc.out_features == 10


def test_pretrained_imagenet_weights_come_from_the_torch_home_cache(tmp_path, monkeypatch):
    from lib.run.models import resnet_imagenet

    state = _imagenet_state_dict()
    cache = tmp_path / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    torch.save(state, cache / "saved.pth")
    # The cached file must match the SHA-256 prefix in its name; stand in for torchvision's URL with this file's.
    name = f"resnet18-{hashlib.sha256((cache / 'saved.pth').read_bytes()).hexdigest()[:8]}.pth"
    (cache / "saved.pth").rename(cache / name)
    monkeypatch.setattr(resnet_imagenet, "imagenet_weights_url", lambda: f"https://download.pytorch.org/models/{name}")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    model = build_model("resnet18_imagenet", 3, 10, 32, pretrained=True)
    assert torch.equal(model.layer4[1].conv2.weight, state["layer4.1.conv2.weight"])


def test_missing_weights_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="weights_file .*does not exist"):
        build_model("resnet18_imagenet", 3, 10, 32, weights_file=str(tmp_path / "nope.pth"))


def test_grey_stem_keeps_the_response_to_grey_images():
    conv = build_model("resnet18_imagenet", 3, 10, 32).conv1
    grey = adapt_stem(conv, 1)
    x = torch.rand(2, 1, 32, 32)
    with torch.no_grad():
        assert torch.allclose(grey(x), conv(x.repeat(1, 3, 1, 1)), atol=1e-5)


def test_a_weights_file_of_another_network_is_a_clear_error(tmp_path):
    from lib.run.models.resnet_imagenet import WeightsError

    path = tmp_path / "lenet.pth"
    torch.save(build_model("lenet", 3, 10, 32).state_dict(), path)
    with pytest.raises(WeightsError, match="is not a torchvision ResNet-18 state_dict"):
        build_model("resnet18_imagenet", 3, 10, 32, weights_file=str(path))


@pytest.mark.parametrize("name, final_norm, parameters", [("resnet18", 64, 11_173_962),
                                                          ("preact_resnet18", 512, 11_172_170)])
def test_checkpoints_of_the_cifar_resnets_keep_their_layout(name, final_norm, parameters):
    # The optimizer's state in a checkpoint is keyed by parameter position, so the order matters too.
    model = build_model(name, 3, 10, 32)
    names = [n for n, _ in model.named_parameters()]
    assert names[:3] == ["conv1.weight", "bn.weight", "bn.bias"] and names[-2:] == ["linear.weight", "linear.bias"]
    assert model.bn.num_features == final_norm
    assert sum(p.numel() for p in model.parameters()) == parameters
