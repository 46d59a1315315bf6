"""Compiled render steps (torch.compile, inductor): the same pictures as eager on the real
efficientnet-lite0 for the article's and Lucid's recipes, one compile per block and shape
however many batches, and an eager fallback with a note where compiling fails."""
from __future__ import annotations

import shutil
import warnings

import pytest
import torch
from torch import nn

import convscope
from convscope import models
from convscope.engine.compiled import compile_units
from convscope.engine.objectives import channel
from convscope.engine.recipes import get_recipe
from convscope.engine.render import render
from convscope.runtime.compile_settings import CompileFallback, compiling, wants_compile

pytestmark = pytest.mark.fast  # `make check` runs this file


needs_compiler = pytest.mark.skipif(not shutil.which("g++"), reason="no C++ compiler (g++): inductor cannot compile")


def _pictures_equal(a, b, tolerance: float) -> None:
    for x, y in zip(a.pictures, b.pictures):
        assert float((x.to_tensor() - y.to_tensor()).abs().max()) <= tolerance
    torch.testing.assert_close(a.final, b.final, rtol=1e-3, atol=1e-3)


@needs_compiler
@pytest.mark.parametrize("recipe", ["keras2016", "lucid"])
def test_compiled_steps_give_the_eager_pictures(recipe):
    model = convscope.load()
    objectives = [channel("block3", u) for u in range(3)]
    rec = get_recipe(recipe, steps=4, size=64)
    with compiling("off"):
        eager = render(model, objectives, rec, batch=3)
    with compiling("on"):
        compiled = render(model, objectives, rec, batch=3)
    _pictures_equal(eager, compiled, tolerance=2 / 255)  # the batching tolerance of the README


@needs_compiler
def test_a_multi_batch_grid_compiles_each_block_once():
    from torch._dynamo.utils import counters

    model = convscope.load()
    rec = get_recipe("keras2016", steps=2, size=64)
    objectives = [channel("block2", u) for u in range(7)]
    torch._dynamo.reset()
    counters.clear()
    with compiling("on"):
        render(model, objectives[:2], rec, batch=2)
        first = counters["stats"]["unique_graphs"]
        assert first == len(compile_units(model, ["block2"]))  # stem-side blocks 0, 1 and 2, one graph each
        render(model, objectives, rec, batch=2)  # 4 batches, the last of 1 unit: it runs eagerly
    assert counters["stats"]["unique_graphs"] == first


class RejectsCompiling(nn.Module):
    """A convolution followed by an operator whose shape function fails under tracing."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ops.convscope_test.eager_only(self.conv(x))


@torch.library.custom_op("convscope_test::eager_only", mutates_args=())
def _eager_only(x: torch.Tensor) -> torch.Tensor:
    return x.clone()


@_eager_only.register_fake
def _(x: torch.Tensor) -> torch.Tensor:
    raise RuntimeError("this operator cannot be traced")


_eager_only.register_autograd(lambda _ctx, grad: grad)


def test_a_module_that_compiling_rejects_falls_back_with_a_note():
    torch.manual_seed(0)
    net = nn.Sequential(RejectsCompiling(), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))
    model = models.wrap(net, input_size=32, name="rejects")
    rec = get_recipe("keras2016", steps=3, size=32)
    eager = render(model, [channel("0", u) for u in range(2)], rec, batch=2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with compiling("on"):
            compiled = render(model, [channel("0", u) for u in range(2)], rec, batch=2)
    notes = [w for w in caught if issubclass(w.category, CompileFallback)]
    assert len(notes) == 1 and "rendering without compiling" in str(notes[0].message)
    _pictures_equal(eager, compiled, tolerance=0)


def test_auto_compiles_only_long_runs_on_cuda():
    assert not wants_compile("auto", torch.device("cpu"), 512)
    assert wants_compile("auto", torch.device("cuda"), 512) and not wants_compile("auto", torch.device("cuda"), 20)
    assert wants_compile("on", torch.device("cpu"), 1) and not wants_compile("off", torch.device("cuda"), 512)


def test_bad_compile_mode_is_one_line(capsys):
    from convscope.cli import main

    with pytest.raises(SystemExit) as stop:
        main(["filter", "efficientnet-lite0", "block3", "0", "-o", "x.png", "--compile", "maybe"])
    assert stop.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
