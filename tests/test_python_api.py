"""One function per command in the Python API, taking what a user has, with results that show
themselves in Jupyter; on the embedded network and real photos."""
from __future__ import annotations

import inspect

import numpy as np
import pytest

import convscope
from convscope.cli.parser import build_parser
from convscope.errors import OutOfRangeError
from convscope.io.builtin_photos import builtin_photo
from convscope.io.photo_reading import load_photo
from convscope.runtime.progress import Bar

pytestmark = pytest.mark.fast  # `make check` runs this file


# models.available(); the demo is a tour; serve is a front end of its own
COMMANDS_WITHOUT_A_FUNCTION = {"models", "demo", "activation-atlas", "serve"}


def test_dir_shows_exactly_the_public_api_and_every_name_is_documented():
    assert dir(convscope) == sorted(convscope.__all__)
    for name in convscope.__all__:
        doc = inspect.getdoc(getattr(convscope, name))
        assert doc and len(doc) > 20, name


def test_every_command_has_a_function_of_its_name():
    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for command in commands:
        if command in COMMANDS_WITHOUT_A_FUNCTION:
            continue
        assert callable(getattr(convscope, command)), command
    assert callable(convscope.activation_atlas) and callable(convscope.models.available)


def test_stats_takes_a_model_name_and_a_list_of_photo_arrays_and_shows_a_table():
    photos = [builtin_photo("chelsea").pixels, builtin_photo("coffee").pixels / 255.0]
    report = convscope.stats("efficientnet-lite0", "block8", [0, 1], photos=photos,
                             recipe=convscope.get_recipe("keras2016", steps=2, size=48))
    assert [row["unit"] for row in report.rows] == [0, 1] and report.settings["photos"] == 2
    assert "<table>" in report._repr_html_() and "block8" in report._repr_html_()


def test_twins_from_a_folder_with_pictures_rendered_now(model, photo_folder):
    report = convscope.twins(model, "block1", photos=photo_folder, threshold=0.5, top=2,
                             recipe="keras2016", steps=2)
    assert report.units == model.layer("block1").channels
    assert "<table>" in report._repr_html_()
    if report.pairs:
        assert report.sheet is not None


def test_spectrum_of_photo_paths_and_arrays(photo_files):
    from_files = convscope.spectrum([photo_files["chelsea"], photo_files["coffee"]], resolution=32, crops=2)
    from_arrays = convscope.spectrum([load_photo(photo_files[name])[0] for name in ("chelsea", "coffee")],
                                     resolution=32, crops=2)
    assert from_files.settings["photos"] == 2
    np.testing.assert_allclose(from_files.magnitude, from_arrays.magnitude, rtol=1e-4)
    assert "<table>" in from_files._repr_html_()


def test_exemplars_and_layers_take_a_model_name(photo_folder, tmp_path):
    run = convscope.exemplars("efficientnet-lite0", photo_folder, tmp_path / "ex", ["block8"], top=2, workers=0)
    assert set(run.layers) == {"block8"} and len(run.files) == 12
    assert "<table>" in run._repr_html_()
    assert [layer.name for layer in convscope.layers("efficientnet-lite0")][:2] == ["stem", "block0"]


def test_errors_name_the_parameter_in_python():
    with pytest.raises(OutOfRangeError) as error:
        convscope.grid("efficientnet-lite0", "block8", candidates=0)
    assert str(error.value) == "candidates must be positive, got 0" and error.value.option == "candidates"


def test_the_public_functions_document_arguments_returns_and_errors_in_one_style():
    from convscope import models
    from convscope.jobs import atlas

    for module in (convscope, models, atlas):
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isfunction(obj):
                doc = inspect.getdoc(obj) or ""
                if inspect.signature(obj).parameters:
                    assert "\nArgs:\n" in doc, f"{module.__name__}.{name}"
                assert "\nReturns:\n" in doc, f"{module.__name__}.{name}"
            elif inspect.isclass(obj):
                assert obj.__doc__, f"{module.__name__}.{name}"


def test_long_calls_show_a_bar_by_default_none_with_false_and_a_callback_replaces_it(model, capsys):
    convscope.filter(model, "block8", 12, recipe="keras2016", steps=4)
    shown = capsys.readouterr().err
    assert "filter" in shown and "/4 " in shown  # tqdm's text bar on stderr, outside Jupyter
    convscope.filter(model, "block8", 12, recipe="keras2016", steps=4, progress=False)
    assert capsys.readouterr().err == ""
    seen: list[tuple[int, int]] = []
    convscope.filter(model, "block8", 12, recipe="keras2016", steps=4, progress=lambda done, total: seen.append((done, total)))
    assert capsys.readouterr().err == "" and seen[-1] == (4, 4)
    assert "progress=False shows none" in (convscope.concepts.__doc__ or "")


def test_a_stage_bar_restarts_at_each_stage(capsys):
    bar = Bar("concepts", "step")
    bar.update("photos", 5, 10)
    bar.update("photos", 10, 10)
    bar.update("training", 3, 7)
    bar.close()
    shown = capsys.readouterr().err
    assert "concepts: photos" in shown and "/10 " in shown and "concepts: training" in shown and "/7 " in shown
