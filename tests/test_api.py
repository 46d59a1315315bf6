"""The Python API takes what users naturally give it, and shows itself in Jupyter."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

import convscope
from convscope.cli import main
from convscope.engine import objectives as obj
from convscope.errors import OutOfRangeError
from convscope.io.builtin_photos import builtin_photo
from convscope.io.picture import Picture

pytestmark = pytest.mark.fast  # `make check` runs this file


FAST = {"steps": 3, "size": 48}


def test_objectives_as_text_and_recipes_by_name(model):
    by_text = convscope.render(model, "block8:12", convscope.get_recipe("lucid", **FAST))
    by_object = convscope.render(model, obj.channel("block8", 12), convscope.get_recipe("lucid", **FAST))
    assert torch.equal(by_text.images, by_object.images)
    several = convscope.render(model, ["block8:1", obj.channel("block8", 2)], convscope.get_recipe("keras2016", steps=2))
    assert len(several.pictures) == 2
    named = convscope.render(model, "block8:1", "keras2016")
    assert named.history.shape[0] == 20 and named.pictures[0].size == (128, 128)


def test_the_default_recipe_is_used_when_none_is_given(model, monkeypatch):
    from convscope.engine import recipes

    monkeypatch.setitem(recipes.RECIPES, "lucid", recipes.RECIPES["lucid"].with_options(**FAST))
    result = convscope.render(model, "block8:1")
    assert result.history.shape[0] == 3 and result.pictures[0].size == (48, 48)


def test_channels_as_text(model):
    a = convscope.filter(model, "block8", "12", recipe="keras2016", steps=2, size=48)
    b = convscope.filter(model, "block8", 12, recipe="keras2016", steps=2, size=48)
    assert np.array_equal(np.asarray(a), np.asarray(b)) and a.info["channel"] == 12
    with pytest.raises(OutOfRangeError, match="whole number"):
        convscope.filter(model, "block8", "twelve")


def test_photos_in_any_form_for_dream_and_saliency(model, photo_files):
    cat = np.asarray(Image.open(photo_files["chelsea"]).convert("RGB"))
    small = {"octaves": 1, "steps": 1, "jitter": 0}
    results = [convscope.dream(model, form, "block8:3", **small).picture
               for form in (cat, Picture(cat), Image.fromarray(cat), photo_files["chelsea"])]
    assert all(np.array_equal(np.asarray(r), np.asarray(results[0])) for r in results)
    gray = convscope.dream(model, cat[..., 0], "block8:3", **small).picture
    assert gray.size == (cat.shape[1], cat.shape[0])
    maps = [convscope.saliency(model, form, samples=1, noise=0).map for form in (cat, Picture(cat), photo_files["chelsea"])]
    assert all(np.allclose(m, maps[0]) for m in maps)


def test_show_is_one_line_and_displays(model):
    picture = convscope.show(model, "block8:12", **FAST)
    assert isinstance(picture, Picture) and picture._repr_png_().startswith(b"\x89PNG")
    assert picture.info["objective"] == "block8:12" and picture.info["activation"] > 0


def test_results_display_themselves_and_carry_their_numbers(model):
    recipe = convscope.get_recipe("keras2016", steps=2, size=48)
    grid = convscope.grid(model, "block1", candidates=4, top=4, recipe=recipe)
    rendered = convscope.render(model, ["block1:0", "block1:1"], recipe)
    dreamed = convscope.dream(model, builtin_photo("coffee").pixels, octaves=1, steps=1)
    class_model = convscope.classviz(model, 65, steps=2)
    salient = convscope.saliency(model, builtin_photo("coffee").pixels, samples=1, noise=0)
    for shown in (grid, rendered, dreamed, class_model, salient):
        assert shown._repr_png_().startswith(b"\x89PNG")
    assert dreamed.picture.info["score_after"] == dreamed.score_after
    assert class_model.picture.info["probability"] == class_model.opinions[0].probability
    assert salient.picture.info["class"] == salient.target
    text = repr(model)
    assert "\n" not in text and len(text) < 160 and "efficientnet-lite0" in text


def test_pictures_at_chosen_steps(model, tmp_path, capsys):
    recipe = convscope.get_recipe("lucid", steps=6, size=48)
    result = convscope.render(model, ["block3:1", "block3:2"], recipe, thresholds=[2, 4])
    assert sorted(result.snapshots) == [2, 4] and len(result.snapshots[2]) == 2
    early = convscope.render(model, ["block3:1", "block3:2"], recipe.with_options(steps=2))
    assert np.array_equal(np.asarray(early.pictures[1]), np.asarray(result.snapshots[2][1]))
    with pytest.raises(OutOfRangeError, match="thresholds"):
        convscope.render(model, "block3:1", recipe, thresholds=[7])
    out = tmp_path / "f.png"
    code = main(["filter", "efficientnet-lite0", "block3", "1", "-o", str(out), "--steps", "6", "--size", "48",
                 "--thresholds", "2,4", "--json"])
    data = json.loads(capsys.readouterr().out)
    strip = Image.open(tmp_path / "f.steps.png")
    assert code == 0 and data["steps_strip"] == str(tmp_path / "f.steps.png")
    assert strip.size[0] == 3 * 48 + 2 * 5  # steps 2, 4 and the end, side by side


def test_non_square_pictures(model, tmp_path, capsys):
    code = main(["filter", "efficientnet-lite0", "block5", "2", "-o", str(tmp_path / "w.png"), "--size", "96x48",
                 "--steps", "2"])
    capsys.readouterr()
    assert code == 0 and Image.open(tmp_path / "w.png").size == (96, 48)
    result = convscope.render(model, ["block2:0", "block2:1"], convscope.get_recipe("lucid", size=(40, 64), steps=2))
    assert [p.size for p in result.pictures] == [(64, 40), (64, 40)] and result.images.shape[-2:] == (40, 64)


def test_neuron_has_its_own_label_and_parses_back(model):
    assert str(obj.neuron("block8", 12)) == "block8:12@c" != str(obj.channel("block8", 12))
    assert str(convscope.parse_objective("block8:12@c")) == "block8:12@c"
    assert str(convscope.parse_objective(" -block8:12")) == "-block8:12"
