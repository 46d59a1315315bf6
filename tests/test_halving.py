"""Successive halving in grids: the kept filters get a full run's pictures, a late bloomer
survives the cuts (and a unit flat until after a cut does not: the documented limit), and
the sidecar's dropped list agrees with renders."""
from __future__ import annotations

import json

import pytest
import torch
from torch import nn

import convscope
from convscope.engine.halving import Halving
from convscope.engine.recipes import get_recipe
from convscope.engine.render import render_units
from convscope.errors import OutOfRangeError
from convscope.methods.filters import filter_grid, selection_rule
from helpers import cli

pytestmark = pytest.mark.fast  # `make check` runs this file


SMALL = {"recipe": "keras2016", "size": 64, "steps": 16}


class Planted(nn.Module):
    """Twelve channels of the channel-mean image m, whose order over a render is known: ten
    lines a*m (a from 1.0 down to 0.55), a late bloomer 3*m^2 (behind at the first cut, rising
    fastest there, first at the end) and a late jumper 0.01*m + 10*relu(m - 0.75) (flat until
    m passes 0.75, after the first cut, then above everything)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = x.mean(dim=1, keepdim=True)
        lines = m * torch.linspace(1.0, 0.55, 10).view(1, -1, 1, 1)
        return torch.cat([lines, 3 * m * m, 0.01 * m + 10 * torch.relu(m - 0.75)], dim=1)


class PlantedNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.units = Planted()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.units(x).mean(dim=(2, 3))


BLOOMER, JUMPER = 10, 11
# pixels move by about lr per step under Adam, so m grows like 0.05 * step
PLANTED_RECIPE = get_recipe("lucid", param="pixel", decorrelate=False, sigmoid=False, optimizer="adam", lr=0.05,
                            transforms="none", steps=40, size=32)


def test_kept_filters_get_the_pictures_of_a_full_run(model):
    full = render_units(model, "block8", range(24), get_recipe(SMALL["recipe"], size=64, steps=16), batch=8)
    half = render_units(model, "block8", range(24), get_recipe(SMALL["recipe"], size=64, steps=16), batch=8,
                        select=Halving(4))
    assert len(half.slots) < 24 and len(half.dropped) == 24 - len(half.slots)
    assert sorted(half.slots + [d["index"] for d in half.dropped]) == list(range(24))
    for j, unit in enumerate(half.slots):
        # regrouped batches round differently in the last bits (README: batching tolerance)
        assert float(half.final[j]) == pytest.approx(float(full.final[unit]), rel=0.02)
        assert (half.images[j] - full.images[unit]).abs().mean() < 0.01
        assert torch.equal(half.history[:, j][:2], full.history[:, unit][:2])


def test_late_bloomer_survives_and_a_unit_flat_past_a_cut_does_not():
    planted = convscope.models.wrap(PlantedNet(), input_size=32, name="planted", min_size=16)
    full = filter_grid(planted, "units", candidates=12, top=2, recipe=PLANTED_RECIPE, select="full")
    # keep 2 and 1.5 times top (4 and 3 of 12): the bloomer, fifth at the first cut, is kept by its rise alone
    half = filter_grid(planted, "units", candidates=12, top=2, recipe=PLANTED_RECIPE,
                       select=Halving(2, keep=(2, 1.5, 1)))
    assert {t["channel"] for t in full.tiles} == {JUMPER, BLOOMER}
    assert half.tiles[0]["channel"] == BLOOMER
    cuts = [cut["step"] for cut in half.settings["select"]["cuts"]]
    assert cuts == [5, 10, 20]
    dropped = {d["channel"]: d for d in half.dropped}
    assert dropped[JUMPER]["step"] == 5 and dropped[JUMPER]["reason"] == "behind"
    # at the first cut the bloomer was behind five lines: only the rising rule kept it
    at_cut = render_units(planted, "units", range(12), PLANTED_RECIPE.with_options(steps=5))
    assert sum(float(v) > float(at_cut.final[BLOOMER]) for v in at_cut.final[:10]) >= 4
    tile = next(t for t in half.tiles if t["channel"] == BLOOMER)
    assert tile["activation"] == pytest.approx(next(t for t in full.tiles if t["channel"] == BLOOMER)["activation"],
                                               rel=1e-4)


def test_sidecar_dropped_list_agrees_with_renders(model, tmp_path):
    grid = filter_grid(model, "block8", candidates=24, top=4, batch=8, select="halving", **SMALL)
    select = grid.settings["select"]
    assert select["rule"] == "halving"
    cut_steps = {cut["step"] for cut in select["cuts"]}
    behind = [d for d in grid.dropped if d["reason"] == "behind"]
    assert behind and all(d["step"] in cut_steps for d in behind)
    shown = {t["channel"] for t in grid.tiles}
    assert not shown & {d["channel"] for d in grid.dropped}
    # a dropped filter rendered alone for as many steps reaches the activation the sidecar gives
    for drop in behind[:3]:
        alone = render_units(model, "block8", [drop["channel"]],
                             get_recipe(SMALL["recipe"], size=SMALL["size"], steps=drop["step"]))
        assert float(alone.final[0]) == pytest.approx(drop["activation"], rel=0.02)
    # each cut dropped only filters behind the ones it kept
    for step in sorted(cut_steps):
        lost = [d["activation"] for d in behind if d["step"] == step]
        if lost:
            at_cut = render_units(model, "block8", sorted(shown),
                                  get_recipe(SMALL["recipe"], size=SMALL["size"], steps=step))
            assert float(at_cut.final.min()) > min(lost)


def test_halving_rules_and_bad_selection(model, tmp_path):
    assert Halving(64).cut_steps(512) == [(64, 160), (128, 128), (256, 96)]
    assert not Halving(64).worthwhile(96, 512)
    lucid, keras = get_recipe("lucid"), get_recipe("keras2016")
    assert selection_rule("halving", 64, 200, lucid) == Halving(64)
    assert selection_rule("halving", 64, 96, lucid) is None and selection_rule("full", 64, 200, lucid) is None
    # auto: halving where it was measured to hold (lucid from 128 steps), full elsewhere
    assert selection_rule("auto", 64, 200, lucid) == Halving(64)
    assert selection_rule("auto", 64, 200, lucid.with_options(steps=64)) is None
    assert selection_rule("auto", 64, 200, keras) is None and selection_rule("auto", 64, 200, get_recipe("maco")) is None
    mine = Halving(64, keep=(2, 1.5, 1))
    assert selection_rule(mine, 64, 200, keras) is mine
    with pytest.raises(OutOfRangeError):
        Halving(4, cuts=(0.5, 0.25), keep=(2, 1))
    with pytest.raises(OutOfRangeError, match="auto, halving, full"):
        filter_grid(model, "block8", candidates=8, top=4, select="fastest", **SMALL)
    out = tmp_path / "g.png"
    bad = cli("grid", "efficientnet-lite0", "block8", "-o", str(out),
                          "--select", "fastest")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "--select" in bad.stderr
    assert not out.exists()
    done = cli("grid", "efficientnet-lite0", "block8", "-o", str(out),
                           "--candidates", "24", "--top", "4", "--steps", "8", "--size", "64", "--recipe", "keras2016",
                           "--select", "halving", "--json")
    assert done.returncode == 0, done.stderr
    entry = json.loads(done.stdout)[0]
    sidecar = json.loads(out.with_name("g.png.json").read_text())
    assert entry["behind"] == sum(d["reason"] == "behind" for d in sidecar["dropped"]) > 0
    assert len(sidecar["tiles"]) == 4
