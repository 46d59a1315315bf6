"""Recipes of the user's own, from objects: the CPPN and the mirror transform of examples/,
through the Python API and the command line, on the embedded network."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import convscope
from convscope.cli import main
from convscope.engine.recipes import get_recipe
from convscope.io.user_code import UserCodeError
from convscope.methods.fidelity import photo_maxima

pytestmark = pytest.mark.fast  # `make check` runs this file


EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
CPPN = f"{EXAMPLES / 'cppn_recipe.py'}:make_recipe"
FLIP = f"{EXAMPLES / 'flip_transform.py'}:make_recipe"


def test_a_cppn_recipe_beats_the_built_in_photos_on_block8_in_python(model):
    recipe = get_recipe(CPPN, steps=64, size=64)
    assert recipe.name == "cppn" and recipe.rebuild is None
    best = photo_maxima(model, "block8")
    picture = convscope.filter(model, "block8", 3, recipe=recipe)
    assert picture.info["activation"] > float(best[3])
    assert picture.info["recipe"]["name"] == "cppn" and picture.info["recipe"]["steps"] == 64


def test_a_cppn_recipe_from_a_file_renders_through_filter(model, tmp_path, capsys):
    out = tmp_path / "cppn.png"
    assert main(["filter", "efficientnet-lite0", "block8", "2", "--recipe", CPPN, "--steps", "64", "--size", "64",
                 "-o", str(out), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert out.exists() and data["activation"] > float(photo_maxima(model, "block8")[2])


def test_a_user_transform_renders_through_grid_and_the_same_seed_gives_the_same_pixels(tmp_path, capsys):
    outs = [tmp_path / f"flip{i}.png" for i in range(2)]
    for out in outs:
        assert main(["grid", "efficientnet-lite0", "block8", "--recipe", FLIP, "--candidates", "4", "--top", "4",
                     "--steps", "8", "--size", "48", "-o", str(out)]) == 0
    assert outs[0].read_bytes() == outs[1].read_bytes()
    sidecar = json.loads(Path(f"{outs[0]}.json").read_text())
    assert sidecar["recipe"]["name"] == "lucid-flip" and "LucidThenFlip" in sidecar["recipe"]["transforms"]


def test_the_flip_changes_the_views(model):
    lucid = get_recipe("lucid", steps=4, size=48)
    flipped = get_recipe(FLIP, steps=4, size=48)
    a = convscope.render(model, "block8:1", lucid).images
    b = convscope.render(model, "block8:1", flipped).images
    assert not torch.equal(a, b)


def test_a_user_recipe_takes_only_steps_and_size(model):
    with pytest.raises(convscope.errors.UnknownNameError, match="views"):
        get_recipe(CPPN, views=4)


@pytest.mark.parametrize("body, match", [
    ("def make_recipe():\n    return 3\n", "returned int"),
    ("def other():\n    pass\n", "has no function 'make_recipe'"),
    ("import no_such_module_here\n", "cannot import"),
])
def test_bad_recipe_files_are_one_line(tmp_path, capsys, body, match):
    path = tmp_path / "mine.py"
    path.write_text(body)
    with pytest.raises(UserCodeError, match=match):
        get_recipe(f"{path}:make_recipe")
    assert main(["filter", "efficientnet-lite0", "block8", "1", "--recipe", f"{path}:make_recipe",
                 "-o", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and match in err[0]
    assert not (tmp_path / "x.png").exists()
