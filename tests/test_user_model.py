"""Any PyTorch network: wrap() in Python, file.py:factory on the command line."""
from __future__ import annotations

import json
import textwrap

import pytest
import torch
from torch import nn

from convscope import filter as visualize_filter
from convscope import models
from convscope.cli import main
from convscope.models.user import UserModelError

pytestmark = pytest.mark.fast  # `make check` runs this file


NET = textwrap.dedent('''
    import torch
    from torch import nn

    class TinyNet(nn.Module):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
            self.act1 = nn.ReLU()
            self.conv2 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
            self.head = nn.Linear(16, 10)

        def forward(self, x):
            x = self.conv2(self.act1(self.conv1(x)))
            return self.head(x.mean(dim=(2, 3)))

    def make():
        return TinyNet()

    def make_with_preprocess():
        return TinyNet(), lambda x: (x - 0.5) / 0.25

    def not_a_module():
        return 42

    def broken():
        raise RuntimeError("no weights here")
''')


@pytest.fixture
def net_file(tmp_path):
    path = tmp_path / "mynet.py"
    path.write_text(NET)
    return path


def test_wrap_lists_layers_in_call_order_and_renders():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 6, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    model = models.wrap(net, input_size=64, labels=[f"c{i}" for i in range(6)])
    assert list(model.layers) == ["0", "1", "2", "3", "4", "logits"]
    assert model.layer("2").channels == 6 and model.layer("logits").channels == 6
    pic = visualize_filter(model, "2", 5, recipe="keras2016", size=48)
    assert pic.info["activation"] > pic.info["start"]


def test_factory_through_layers_and_filter(net_file, tmp_path, capsys):
    assert main(["layers", f"{net_file}:make", "--json"]) == 0
    layers = json.loads(capsys.readouterr().out)
    # the convolutions and logits first (what an atlas takes by default), then the rest, in network order
    assert [l["name"] for l in layers] == ["conv1", "conv2", "logits", "act1", "head"]
    assert [l["main"] for l in layers] == [True, True, True, False, False]
    out = tmp_path / "f.png"
    assert main(["filter", f"{net_file}:make_with_preprocess", "conv2", "7", "-o", str(out),
                 "--recipe", "keras2016", "--size", "40", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert out.exists() and data["activation"] > data["start"]


def test_factory_with_preprocess_is_used(net_file):
    model = models.load(f"{net_file}:make_with_preprocess")
    x = torch.full((1, 3, 8, 8), 0.75)
    assert torch.allclose(model.preprocess(x), torch.ones_like(x))


@pytest.mark.parametrize("suffix, match", [
    (":not_a_module", "returned int"),
    (":broken", "RuntimeError: no weights here"),
    (":missing", "has no function 'missing'"),
])
def test_bad_factories(net_file, suffix, match, capsys):
    with pytest.raises(UserModelError, match=match):
        models.load(f"{net_file}{suffix}")
    assert main(["layers", f"{net_file}{suffix}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and match in err[0]


def test_factory_file_that_does_not_import(tmp_path, capsys):
    bad = tmp_path / "bad.py"
    bad.write_text("import no_such_module_anywhere\n")
    assert main(["layers", f"{bad}:make"]) == 2
    assert "cannot import" in capsys.readouterr().err
    assert main(["layers", f"{tmp_path / 'absent.py'}:make"]) == 2
    assert "not found" in capsys.readouterr().err
