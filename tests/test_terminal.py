"""What a person sees in the terminal: the command list, the demo's three results, the summary
that ends a command, and --quiet."""
from __future__ import annotations

import json

import numpy as np
from PIL import Image

from convscope.cli import main
from convscope.cli.parser import build_parser
from convscope.io.builtin_photos import builtin_photo


def test_convscope_alone_lists_every_command_and_where_to_start(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert "convscope demo" in out
    for name, _ in build_parser().commands:
        line = next(line for line in lines if line.strip().split(" ")[0] == name)
        assert len(line) <= 100, line


def test_demo_writes_the_article_s_three_results_and_says_where(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert Image.open(out / "grid-block8-keras2016.png").size == (1059, 1059)  # 64 tiles of 128 px
    cat = np.asarray(builtin_photo("chelsea").pixels, dtype=np.float32)
    dreamt = np.asarray(Image.open(out / "dream-chelsea.jpg"), dtype=np.float32)
    assert dreamt.shape == cat.shape and np.abs(dreamt - cat).mean() > 5  # the photo, changed
    snake = json.loads((out / "class-sea-snake.png.json").read_text())
    assert snake["reached"] and snake["name"] == "sea snake" and snake["networks"][0]["probability"] >= 0.999
    assert any("sea snake" in line and f"p = {snake['networks'][0]['probability']:.4f}" in line for line in lines)
    assert any(str(out / "dream-chelsea.jpg") in line for line in lines)
    assert lines[-2].startswith("(took ") and lines[-1].startswith("next: convscope ")


def test_a_command_ends_with_its_time_and_quiet_silences_it(tmp_path, capsys):
    out = tmp_path / "f.png"
    assert main(["filter", "efficientnet-lite0", "block2", "3", "-o", str(out), "--recipe", "keras2016",
                 "--steps", "2"]) == 0
    text = capsys.readouterr().out.splitlines()
    assert str(out) in text[0] and text[-1].startswith("(took ") and text[-1].endswith(" s)")
    out.unlink()
    assert main(["filter", "efficientnet-lite0", "block2", "3", "-o", str(out), "--recipe", "keras2016",
                 "--steps", "2", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == "" and out.is_file()
