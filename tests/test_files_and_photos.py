"""What convscope writes is readable like any file the user makes; photos in every form read right."""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import convscope
from convscope.cli import main
from convscope.errors import ImageInputError
from convscope.io.builtin_photos import builtin_photo
from convscope.io.files import write_json
from convscope.io.photo_reading import as_photo, load_photo
from convscope.io.picture import Picture

pytestmark = pytest.mark.fast  # `make check` runs this file


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("umask, expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_follow_the_umask(tmp_path, umask, expected):
    old = os.umask(umask)
    try:
        picture = Picture(np.zeros((4, 4, 3), dtype=np.uint8))
        picture.save(tmp_path / "a.png")
        write_json(tmp_path / "a.json", {"x": 1})
        (tmp_path / "b.png").write_bytes(b"")
        os.chmod(tmp_path / "b.png", 0o600)
        picture.save(tmp_path / "b.png")  # a file the user made private is written like a new one
    finally:
        os.umask(old)
    assert mode_of(tmp_path / "a.png") == expected
    assert mode_of(tmp_path / "a.json") == expected
    assert mode_of(tmp_path / "b.png") == expected


def test_a_16_bit_gray_png_is_scaled_not_clipped(tmp_path, model):
    ramp = np.linspace(0, 65535, 64 * 64).reshape(64, 64).astype(np.uint16)
    path = tmp_path / "gray16.png"
    Image.fromarray(ramp).save(path)
    assert Image.open(path).mode.startswith("I")
    rgb, _ = load_photo(path)
    assert rgb.dtype == np.uint8 and rgb.shape == (64, 64, 3)
    assert rgb.min() == 0 and rgb.max() == 255 and 120 <= int(np.median(rgb)) <= 135
    cat = builtin_photo("chelsea").pixels.mean(axis=2)
    path = tmp_path / "cat16.png"
    Image.fromarray((cat * 257).astype(np.uint16)).save(path)
    assert np.abs(load_photo(path)[0][..., 0].astype(int) - cat.round()).max() <= 1
    top = convscope.classify(model, path, 1)[0]
    assert top.name != "nematode" and top.probability < 0.99


def test_arrays_are_read_by_their_dtype(model):
    cat = builtin_photo("chelsea").pixels
    expected = convscope.classify(model, cat, 1)[0]
    for form in (cat / 255.0, (cat / 255.0).astype(np.float32), cat.astype(np.uint16) * 257):
        top = convscope.classify(model, form, 1)[0]
        assert top.index == expected.index and top.probability == pytest.approx(expected.probability, abs=0.01)
    with pytest.raises(ImageInputError, match=r"\[0, 1\]"):
        as_photo(cat.astype(np.float64))
    with pytest.raises(ImageInputError, match="shape"):
        as_photo(np.zeros((3, 5, 5), dtype=np.uint8))


def test_every_natural_photo_form_gives_the_same_pixels(photo_files):
    cat = load_photo(photo_files["chelsea"])[0]
    forms = [photo_files["chelsea"], str(photo_files["chelsea"]), Picture(cat), Image.fromarray(cat), cat]
    for form in forms:
        assert np.array_equal(as_photo(form), cat)
    gray = as_photo(cat[..., 0])
    assert gray.shape == cat.shape and np.array_equal(gray[..., 2], cat[..., 0])


def test_numpy_array_of_a_picture_follows_the_copy_contract():
    picture = Picture(np.zeros((2, 2, 3), dtype=np.uint8))
    np.array(picture)[0, 0] = 7
    np.array(picture, copy=True)[0, 0] = 7
    assert picture.pixels.max() == 0
    assert np.asarray(picture) is picture.pixels  # no copy where none is asked for
    assert np.asarray(picture, dtype=np.float32).dtype == np.float32
    with pytest.raises(ValueError):
        np.array(picture, dtype=np.float32, copy=False)


def test_classify_reads_what_it_can_and_reports_the_rest(capsys, tmp_path, photo_files):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    code = main(["classify", str(photo_files["chelsea"]), str(broken), str(photo_files["coffee"]), "--json"])
    out, err = capsys.readouterr()
    assert code == 2
    rows = json.loads(out)
    assert [("top" in r, "error" in r) for r in rows] == [(True, False), (False, True), (True, False)]
    assert rows[2]["top"][0]["name"] == "espresso"
    assert "broken.jpg" in err and "1 image of 3 could not be read" in err


def test_column_stacks_pictures_with_a_margin():
    from convscope.io.picture import Picture, column

    top = Picture(np.full((10, 20, 3), 50, np.uint8))
    bottom = Picture(np.full((6, 8, 3), 200, np.uint8))
    sheet = column([top, bottom], margin=3)
    assert sheet.size == (20, 19)
    pixels = np.asarray(sheet)
    assert (pixels[:10] == 50).all() and (pixels[10:13] == 0).all()
    assert (pixels[13:, :8] == 200).all() and (pixels[13:, 8:] == 0).all()


def test_builtin_photos_are_the_packages_own_pixels():
    from skimage import data
    from sklearn.datasets import load_sample_image

    from convscope.io.builtin_photos import builtin_photos

    ours = {p.name: p.pixels for p in builtin_photos()}
    theirs = {"chelsea": data.chelsea(), "coffee": data.coffee(), "astronaut": data.astronaut(),
              "rocket": data.rocket(), "china": load_sample_image("china.jpg"),
              "flower": load_sample_image("flower.jpg")}
    assert ours.keys() == theirs.keys()
    for name, pixels in theirs.items():
        np.testing.assert_array_equal(ours[name], pixels, err_msg=name)
