"""Errors that come before any work, as one line with exit status 2; help, version, plurals."""
from __future__ import annotations

import json
import time

import pytest

from convscope.cli import main
from helpers import refused

pytestmark = pytest.mark.fast  # `make check` runs this file


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_render_that_cannot_fit_is_refused_before_allocating(capsys, tmp_path):
    start = time.perf_counter()
    line = refused(capsys, "filter", "efficientnet-lite0", "block8", "1", "-o", str(tmp_path / "f.png"),
                   "--size", "100000", match="needs about")
    assert "--size" in line and time.perf_counter() - start < 30
    line = refused(capsys, "grid", "efficientnet-lite0", "head", "-o", str(tmp_path / "g.png"), "--size", "6000",
                   "--batch", "32", match="needs about")
    assert "--batch" in line
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("device, match", [("gpu", "cuda"), ("mps", "Apple"), ("tpu", "auto, cpu, cuda")])
def test_device_is_a_checked_choice(capsys, tmp_path, device, match):
    refused(capsys, "filter", "efficientnet-lite0", "block8", "1", "-o", str(tmp_path / "f.png"),
            "--device", device, match=match)


def test_cuda_asked_for_where_there_is_none(capsys, photo_files):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    refused(capsys, "classify", str(photo_files["chelsea"]), "--device", "cuda", match="no CUDA device")


@pytest.mark.parametrize("argv", [
    ["filter", "efficientnet-lite0", "block8", "1", "-o", "FILE/c.png"],
    ["grid", "efficientnet-lite0", "block8", "-o", "FILE/sub/g.png"],
    ["dream", "-o", "FILE/d.jpg"],
    ["classviz", "65", "-o", "FILE/c.png"],
    ["saliency", "-o", "FILE/s.png"],
    ["render", "block8:1", "-o", "FILE/r.png"],
    ["twins", "efficientnet-lite0", "stem", "-o", "FILE/t.png"],
    ["atlas", "--out", "FILE/atlas"],
])
def test_an_output_folder_that_is_a_file_is_named_before_any_work(capsys, tmp_path, argv):
    a_file = tmp_path / "notimage.png"
    a_file.write_bytes(b"x")
    start = time.perf_counter()
    refused(capsys, *[a.replace("FILE", str(a_file)) for a in argv], match="notimage.png is a file, not a folder")
    assert time.perf_counter() - start < 5


def test_photos_given_as_a_file(capsys, photo_files):
    refused(capsys, "stats", "efficientnet-lite0", "block1", "--photos", str(photo_files["chelsea"]),
            match="is a file: --photos takes a folder")


def test_vgg_weights_given_to_efficientnet(capsys, vgg16_pth):
    refused(capsys, "layers", "efficientnet-lite0", "--weights", str(vgg16_pth), match="use --model vgg16")


def test_twins_threshold_is_a_correlation(capsys):
    refused(capsys, "twins", "efficientnet-lite0", "stem", "--threshold", "2", match="[-1, 1]")


def test_help_shows_defaults_and_descriptions(capsys):
    with pytest.raises(SystemExit):
        main(["grid", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: 200)" in text and "(default: 64)" in text and "(default: lucid)" in text
    assert "convscope layers MODEL" in text and "as JSON" in text and "or path/to/file.py:factory" in text
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.startswith("convscope 0.")


def test_parser_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["grid", "efficientnet-lite0", "block8", "-o", "x.png", "--recipe", "nope"])
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and len(err) == 1 and "invalid choice" in err[0]


def test_models_takes_device_and_layers_of_vgg_need_no_weights(capsys):
    code, out, _ = run(capsys, "models", "--device", "cpu", "--json")
    names = [m["name"] for m in json.loads(out)]
    assert code == 0 and "efficientnet-lite1" in names
    code, out, err = run(capsys, "layers", "vgg16", "--json")
    layers = {row["name"]: row for row in json.loads(out)}
    assert code == 0 and layers["conv1_1"]["channels"] == 64 and layers["conv5_3"]["shape"] == [512, 14, 14]
    assert "no --weights" in err


def test_plurals(capsys, tmp_path):
    code, out, _ = run(capsys, "atlas", "efficientnet-lite0", "--out", str(tmp_path / "a"), "--layers", "stem",
                       "--steps", "1", "--size", "48", "--batch", "32")
    assert code == 0 and "32 units in 1 layer (" in out


def test_dream_objective_and_layers_together_are_refused(capsys, tmp_path):
    refused(capsys, "dream", "-o", str(tmp_path / "d.jpg"), "--objective", "block8:1", "--layers", "block8",
            match="not both")


def test_unknown_layer_lists_the_layers(capsys, tmp_path):
    line = refused(capsys, "filter", "efficientnet-lite0", "blok8", "1", "-o", str(tmp_path / "f.png"),
                   match="did you mean 'block8'")
    assert "stem, block0, block1" in line and "logits" in line


def test_a_leading_minus_objective_with_a_space(capsys, tmp_path):
    code, out, err = run(capsys, "render", " -block8:1", "-o", str(tmp_path / "r.png"), "--steps", "2", "--size",
                         "48", "--json")
    assert code == 0, err
    assert json.loads(out)["objective"] == "-block8:1"


def test_missing_extras_say_how_to_install_them(capsys, tmp_path):
    import importlib.util

    refused(capsys, "layers", "efficientnet-lite0", "--preprocess", "tf", match="--preprocess is for ONNX files")
    if importlib.util.find_spec("timm") is None:
        refused(capsys, "layers", "timm:resnet18", match="pip install 'convscope[timm]'")
    if importlib.util.find_spec("onnx2torch") is None:
        refused(capsys, "layers", str(tmp_path / "net.onnx"), match="pip install 'convscope[onnx]'")


def test_the_parser_defaults_are_the_specs():
    """Every flag made from a spec defaults to the spec's value (a list option to none given),
    in every command that has a spec."""
    import argparse

    from convscope.cli.parser import COMMANDS, build_parser
    from convscope.runtime.spec import spec_options

    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    checked = 0
    for command in COMMANDS:
        if command.spec is None:
            continue
        defaults = {action.dest: action.default for action in commands[command.name]._actions
                    if not isinstance(action, argparse._HelpAction)}
        for item in spec_options(command.spec):
            if item.metadata["flag"]:
                assert item.name in defaults, (command.name, item.name)
                expected = None if isinstance(item.default, tuple) else item.default
                assert defaults[item.name] == expected, (command.name, item.name)
                checked += 1
    assert checked > 60
