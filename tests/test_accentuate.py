"""Feature accentuation and caricature, from a real photo on the real network."""
from __future__ import annotations

import json

import pytest

import convscope
from convscope.cli import main
from convscope.io.builtin_photos import builtin_photo

pytestmark = pytest.mark.fast  # `make check` runs this file


@pytest.fixture(scope="module")
def cat():
    return builtin_photo("chelsea").pixels


def test_accentuation_raises_the_objective_and_stays_closer_than_without_the_regularizer(model, cat):
    kept = convscope.accentuate(model, cat, "logits:18", steps=24, strength=5)
    free = convscope.accentuate(model, cat, "logits:18", steps=24, strength=0)
    assert kept.info["layer"] == "block8"  # about halfway to the logits
    assert kept.info["objective_after"] > kept.info["objective_before"] + 5
    assert kept.info["layer_distance"] < 0.9 * free.info["layer_distance"]
    assert kept.sheet.size == (3 * 224 + 2 * 5, 224)


def test_caricature_raises_the_cosine_similarity(model, cat):
    from_noise = convscope.caricature(model, cat, ["block8"], steps=24, from_noise=True)
    assert from_noise.info["cosine_before"]["block8"] < 0.2 < 0.6 < from_noise.info["cosine_after"]["block8"]
    from_photo = convscope.caricature(model, cat, ["block8"], steps=24)
    assert from_photo.info["objective_after"] > from_photo.info["objective_before"]  # exaggerated


def test_commands_write_the_result_the_sheet_and_the_sidecar(tmp_path, photo_files, capsys):
    out = tmp_path / "a.png"
    code = main(["accentuate", str(photo_files["chelsea"]), "block8:12", "-o", str(out), "--steps", "3", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and out.is_file() and (tmp_path / "a.sheet.png").is_file()
    assert json.loads((tmp_path / "a.png.json").read_text())["objective"] == "block8:12" == data["objective"]
    code = main(["caricature", str(photo_files["chelsea"]), "--layers", "block6,block8", "-o", str(tmp_path / "c.jpg"),
                 "--steps", "2", "--json"])
    assert code == 0 and set(json.loads(capsys.readouterr().out)["cosine_after"]) == {"block6", "block8"}


@pytest.mark.parametrize("argv, match", [
    (["accentuate", "PHOTO", "block8:12", "--strength", "-1"], "--strength"),
    (["accentuate", "PHOTO", "block8:", "--steps", "2"], "cannot parse objective"),
    (["accentuate", "NOTIMAGE", "block8:12"], "cannot read"),
    (["caricature", "PHOTO", "--layers", "blok8"], "did you mean 'block8'"),
])
def test_bad_input(tmp_path, photo_files, capsys, argv, match):
    not_image = tmp_path / "x.png"
    not_image.write_text("no")
    out = tmp_path / "out.png"
    args = [a.replace("NOTIMAGE", str(not_image)).replace("PHOTO", str(photo_files["chelsea"])) for a in argv]
    code = main([*args, "-o", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and match in err[0] and not out.exists()
