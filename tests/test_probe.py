"""The probe hooks only what it needs, stops early, and always cleans up."""
from __future__ import annotations

import pytest
import torch

from convscope.models.probe import Probe

pytestmark = pytest.mark.fast  # `make check` runs this file


def count_module_calls(model, run) -> int:
    calls = []
    handles = [m.register_forward_hook(lambda *a: calls.append(1)) for m in model.net.modules()]
    try:
        run()
    finally:
        for h in handles:
            h.remove()
    return len(calls)


def all_hooks(model) -> int:
    return sum(len(m._forward_hooks) for m in model.net.modules())


def test_forward_stops_after_the_deepest_layer(model):
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        full = count_module_calls(model, lambda: model.net(model.preprocess(x)))
        with Probe(model, ["block2"]) as probe:
            early = count_module_calls(model, lambda: probe(x))
            assert set(probe(x)) == {"block2"}
        with Probe(model, ["block2", "block10"]) as probe:
            deeper = count_module_calls(model, lambda: probe(x))
    assert early < deeper < full
    assert early < full / 4


def test_outputs_match_the_full_forward(model):
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        expected = model.logits(x)
        with Probe(model, ["logits", "block4"]) as probe:
            torch.testing.assert_close(probe(x)["logits"], expected)


def test_hooks_removed_after_an_exception(model):
    before = all_hooks(model)
    with pytest.raises(RuntimeError):
        with Probe(model, ["block3", "block5"]) as probe:
            probe(torch.rand(1, 3, 64, 64))
            assert all_hooks(model) == before + 2
            raise RuntimeError("boom")
    assert all_hooks(model) == before


def test_hooks_removed_after_ctrl_c(model):
    before = all_hooks(model)
    with pytest.raises(KeyboardInterrupt):
        with Probe(model, ["block3"]):
            raise KeyboardInterrupt
    assert all_hooks(model) == before
