"""DeepDream, class models and saliency on the real network."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

import convscope
from convscope.cli import main
from convscope.errors import ImageInputError, OutOfRangeError, UnknownNameError
from convscope.io.builtin_photos import builtin_photo
from convscope.io.picture import to_tensor
from convscope.methods.class_models import class_model
from convscope.methods.dream import dream, layers_objective, tiled_gradient
from convscope.methods.saliency import saliency
from convscope.models.classes import resolve_class
from convscope.models.probe import Probe


@pytest.fixture(scope="module")
def chelsea():
    return builtin_photo("chelsea").pixels


def test_dream_changes_the_photo_and_raises_its_objective(model, chelsea):
    objective = layers_objective(["block8", "block10"], [1, 1.5])
    result = dream(model, chelsea, objective, octaves=2, steps=4)
    out = np.asarray(result.picture)
    assert out.shape == chelsea.shape
    assert np.abs(out.astype(int) - chelsea).mean() > 5
    assert result.score_after > 1.5 * result.score_before


def test_dream_of_a_photo_larger_than_a_tile_keeps_its_size(model):
    photo = np.asarray(Image.fromarray(builtin_photo("coffee").pixels).resize((203, 171)))
    result = dream(model, photo, layers_objective(["block5"]), octaves=2, steps=2, tile=96)
    assert np.asarray(result.picture).shape == (171, 203, 3)


def test_tiled_and_untiled_gradients_agree_when_the_image_fits_a_tile(model, chelsea):
    image = to_tensor(chelsea[:160, :200])[None]
    objective = layers_objective(["block6"])
    with Probe(model, objective.layers) as probe:
        tiled, score = tiled_gradient(probe, objective, image, tile=256, shift=(17, -9))
        x = image.clone().requires_grad_(True)
        value = objective(probe(torch.roll(x, (17, -9), dims=(2, 3)))).sum()
        (direct,) = torch.autograd.grad(value, x)
    torch.testing.assert_close(tiled, direct)
    assert score == pytest.approx(float(value.detach()))


def test_tiles_cover_the_image_when_it_does_not_fit(model, chelsea):
    image = to_tensor(chelsea[:150, :150])[None]
    objective = layers_objective(["block3"])
    with Probe(model, objective.layers) as probe:
        tiled, _ = tiled_gradient(probe, objective, image, tile=64)
    per_pixel = tiled.abs().sum(dim=1)[0]
    assert (per_pixel > 0).float().mean() > 0.99


def test_dream_refuses_bad_input(model, chelsea):
    with pytest.raises(ImageInputError, match="at least 32"):
        dream(model, chelsea[:20, :20], layers_objective(["block8"]))
    for option in ({"octaves": 0}, {"steps": 0}, {"tile": 0}):
        with pytest.raises(OutOfRangeError, match="positive"):
            dream(model, chelsea, layers_objective(["block8"]), **option)
    with pytest.raises(UnknownNameError):
        dream(model, chelsea, layers_objective(["blok8"]))


@pytest.mark.parametrize("target, score", [(65, "logit"), (18, "prob")])
def test_class_model_fools_the_network(model, target, score):
    result = class_model(model, target, score=score, until=0.999)
    assert result.reached and result.curve[-1] >= 0.999
    assert result.steps_run <= 60 and result.curve[0] < 0.01
    assert result.opinions[0].rank == 1


def test_class_names_resolve():
    from convscope import load
    m = load()
    assert resolve_class(m, "sea snake") == 65 and resolve_class(m, "Magpie") == 18
    assert resolve_class(m, "65") == 65 and resolve_class(m, "tiger cat") == 282
    with pytest.raises(UnknownNameError, match="134") as err:
        resolve_class(m, "crane")
    assert "517" in str(err.value)
    with pytest.raises(UnknownNameError, match="sea snake"):
        resolve_class(m, "see snake")
    with pytest.raises(OutOfRangeError, match="0..999"):
        resolve_class(m, "1000")


def test_saliency_is_stronger_on_the_cat(model, chelsea):
    result = saliency(model, chelsea)
    assert result.map.shape == chelsea.shape[:2] and result.target in range(281, 286)
    cat = result.map[20:290, 60:340].mean()
    background = result.map[:, 390:].mean()
    assert cat > 1.3 * background


def test_classviz_cli_writes_picture_and_sidecar(tmp_path, capsys):
    out = tmp_path / "snake.png"
    code = main(["classviz", "sea snake", "-o", str(out), "--until", "0.999", "--check", "efficientnet-lite2"])
    assert code == 0
    side = json.loads((tmp_path / "snake.png.json").read_text())
    assert side["class"] == 65 and side["reached"] and side["probability_curve"][-1] >= 0.999
    assert [n["model"] for n in side["networks"]] == ["efficientnet-lite0", "efficientnet-lite2"]
    assert len(side["networks"][1]["top"]) == 5 and side["seed"] == 0
    assert Image.open(out).size == (224, 224)


def test_dream_and_saliency_cli(tmp_path, capsys, photo_files):
    dreamed = tmp_path / "d.jpg"
    assert main(["dream", str(photo_files["chelsea"]), "-o", str(dreamed), "--octaves", "2", "--steps", "2"]) == 0
    assert Image.open(dreamed).size == Image.open(photo_files["chelsea"]).size
    capsys.readouterr()
    sal = tmp_path / "s.png"
    assert main(["saliency", str(photo_files["chelsea"]), "-o", str(sal), "--samples", "2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["class"] in range(281, 286) and data["samples"] == 2
    assert Image.open(sal).size == Image.open(photo_files["chelsea"]).size


@pytest.mark.parametrize("argv, match", [
    (["classviz", "snake"], "matches 15 classes"),
    (["classviz", "see snake"], "did you mean"),
    (["dream", "PHOTO", "--tile", "0"], "tile must be positive"),
    (["dream", "PHOTO", "--octaves", "-1"], "octaves must be positive"),
    (["dream", "MISSING"], "not found"),
])
def test_bad_input_for_dream_and_classviz(tmp_path, capsys, photo_files, argv, match):
    out = tmp_path / "out.png"
    argv = [a.replace("PHOTO", str(photo_files["chelsea"])).replace("MISSING", str(tmp_path / "no.jpg"))
            for a in argv] + ["-o", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and match in err[0]
    assert not out.exists()


def test_class_picture_is_the_image_the_network_was_sure_of(model, tmp_path, capsys):
    from convscope.cli import main
    from convscope.io.photo_reading import load_photo
    from convscope.io.picture import to_tensor
    from convscope.methods.class_models import opinion

    out = tmp_path / "snake.png"
    code = main(["classviz", "65", "-o", str(out), "--until", "0.999", "--json"])
    capsys.readouterr()
    sidecar = json.loads((tmp_path / "snake.png.json").read_text())
    assert code == 0 and sidecar["reached"]
    assert len(sidecar["probability_curve"]) == sidecar["steps_run"] + 1
    assert sidecar["size"] == [224, 224] and sidecar["picture"].startswith("the image the network scored")
    saved = to_tensor(load_photo(out)[0])
    again = opinion(model, saved, 65, resize=False)
    assert again.probability >= 0.999 and again.probability == pytest.approx(sidecar["networks"][0]["probability"])
    assert (tmp_path / "snake.display.png").is_file() and sidecar["display"].endswith("snake.display.png")


def test_curve_has_one_value_per_step_and_one_at_the_end(model):
    result = convscope.classviz(model, 18, steps=10)
    assert result.steps_run == 10 and len(result.curve) == 11
    stopped = convscope.classviz(model, 65, until=0.5, steps=60)
    assert len(stopped.curve) == stopped.steps_run + 1 and stopped.curve[-1] >= 0.5


def test_check_network_from_a_weights_file(tmp_path, capsys, vgg16_pth):
    from convscope.cli import main

    code = main(["classviz", "65", "-o", str(tmp_path / "c.png"), "--steps", "2", "--check", f"vgg16={vgg16_pth}",
                 "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and [n["model"] for n in data["networks"]] == ["efficientnet-lite0", "vgg16"]


def test_saliency_reports_the_probability_classify_gives(model, photo_files):
    top = convscope.classify(model, photo_files["coffee"], 1)[0]
    result = convscope.saliency(model, photo_files["coffee"], samples=1, noise=0)
    assert result.target == top.index
    assert result.classify_probability == pytest.approx(top.probability, abs=1e-5)
    assert "whole photo" in result.picture.info["view"]


def test_class_names_are_the_common_short_ones_and_unique(model):
    from convscope.models.classes import resolve_class

    assert model.class_name(282) == "tiger cat" and len(set(model.labels)) == 1000
    assert resolve_class(model, "a cat having a striped coat") == 282
    assert resolve_class(model, "missile") == 657 and resolve_class(model, "projectile") == 744
    assert resolve_class(model, "sunglasses") == 837 and resolve_class(model, "sunglass") == 836
    with pytest.raises(convscope.errors.UnknownNameError) as error:
        resolve_class(model, "crane")
    for index in (134, 517):  # every name the message offers resolves
        assert repr(model.class_name(index)) in str(error.value)
        assert resolve_class(model, model.class_name(index)) == index


def test_efficientnet_lite1_is_in_the_registry(photo_files):
    lite1 = convscope.load("efficientnet-lite1")
    assert lite1.input_size == 240
    assert 281 <= convscope.classify(lite1, photo_files["chelsea"], 1)[0].index <= 285
