"""The render loop: batching, reproducibility, fidelity, the article's filter and grid."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import convscope
from convscope.engine.objectives import channel
from convscope.engine.recipes import get_recipe
from convscope.engine.render import render
from convscope.io.builtin_photos import builtin_photos
from convscope.io.picture import Picture, stitch
from convscope.methods.fidelity import photo_maxima

pytestmark = pytest.mark.fast  # `make check` runs this file


@pytest.fixture(scope="module")
def photos():
    return builtin_photos()


@pytest.mark.parametrize("recipe", ["keras2016", "lucid"])
def test_a_batch_gives_the_same_pictures_as_units_one_by_one(model, recipe):
    """Equal up to float rounding. oneDNN rounds a batched convolution slightly differently
    from a single one (about 1e-6); where that flips a ReLU6 gate, the difference grows with
    the steps. So most units (6 of 8) must agree to 1e-4, and every unit must be far closer
    to its own single run than to the picture of another unit from the same seed."""
    rec = get_recipe(recipe, steps=4, size=64)
    units = [3, 17, 40, 99, 5, 60, 77, 111]
    objs = [channel("block8", u) for u in units]
    together = render(model, objs, rec, seeds=units, transform_seed=5, batch=len(units))
    exact = 0
    for i, u in enumerate(units):
        alone = render(model, [objs[i]], rec, seeds=[u], transform_seed=5, batch=1)
        other = render(model, [objs[(i + 1) % len(units)]], rec, seeds=[u], transform_seed=5, batch=1)
        diff = (alone.images[0] - together.images[i]).abs().mean()
        assert diff < 0.3 * (other.images[0] - together.images[i]).abs().mean()
        if diff < 1e-4:
            exact += 1
            torch.testing.assert_close(alone.final[0], together.final[i], atol=1e-3, rtol=1e-2)
    assert exact >= 6


def test_chunking_does_not_change_pictures(model):
    rec = get_recipe("lucid", steps=4, size=64)
    objs = [channel("block5", u) for u in range(5)]
    a = render(model, objs, rec, seeds=0, batch=5)
    b = render(model, objs, rec, seeds=0, batch=2)
    per_unit = (a.images - b.images).abs().flatten(1).mean(dim=1)
    assert (per_unit < 1e-4).sum() >= 4 and per_unit.max() < 1e-2


def test_the_same_seed_gives_identical_pixels(model):
    rec = get_recipe("lucid", steps=10, size=64)
    a = convscope.filter(model, "block5", 7, recipe=rec, seed=11)
    b = convscope.filter(model, "block5", 7, recipe=rec, seed=11)
    c = convscope.filter(model, "block5", 7, recipe=rec, seed=12)
    assert np.array_equal(np.asarray(a), np.asarray(b))
    assert not np.array_equal(np.asarray(a), np.asarray(c))


def test_progress_reports_every_unit_step(model):
    seen = []
    render(model, [channel("block2", u) for u in range(3)], get_recipe("keras2016", steps=4, size=48),
           batch=2, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (12, 12) and all(b == 12 for _, b in seen)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_keras2016_filter_climbs_far_above_its_noise(model, photos):
    units = list(range(8))
    maxima = photo_maxima(model, "block8", photos)
    above = 0
    for u in units:
        pic = convscope.filter(model, "block8", u, recipe="keras2016")
        assert pic.size == (128, 128)
        assert pic.info["activation"] > pic.info["start"] + 10
        above += pic.info["activation"] > maxima[u]
    assert above >= 6


def test_lucid_mid_layer_reaches_well_above_real_photos(model, photos):
    units = list(range(8))
    rec = get_recipe("lucid", steps=64, size=96)
    result = render(model, [channel("block6", u) for u in units], rec, seeds=units)
    maxima = photo_maxima(model, "block6", photos)
    ratios = [float(result.final[u] / maxima[u]) for u in units if maxima[u] > 0]
    assert len(ratios) >= 4
    assert np.median(ratios) > 3


def test_lucid_pictures_are_smooth_not_noise(model):
    """The spectral, decorrelated parameterization puts less of a picture's power in high
    frequencies than optimizing pixels directly."""
    def high_frequency_share(pic: Picture) -> float:
        x = np.asarray(pic).astype(float).mean(axis=2)
        power = np.abs(np.fft.fft2(x - x.mean())) ** 2
        f = np.hypot(np.fft.fftfreq(x.shape[0])[:, None], np.fft.fftfreq(x.shape[1])[None, :])
        return float(power[f > 0.25].sum() / power.sum())
    pixel_recipe = get_recipe("lucid", param="pixel", decorrelate=False)
    spectral = [high_frequency_share(convscope.filter(model, "block6", u, steps=64, size=96))
                for u in (3, 10)]
    pixel = [high_frequency_share(convscope.filter(model, "block6", u, recipe=pixel_recipe, steps=64,
                                                             size=96)) for u in (3, 10)]
    assert np.mean(spectral) < 0.8 * np.mean(pixel)


def test_grid_keeps_the_best_alive_filters_in_order(model):
    grid = convscope.grid(model, "block1", candidates=24, top=9, recipe="keras2016", size=48, steps=1)
    acts = [t["activation"] for t in grid.tiles]
    assert acts == sorted(acts, reverse=True) and all(a > 0 for a in acts)
    assert all(d["activation"] <= 0 for d in grid.dropped) and grid.dropped
    alive = 24 - len(grid.dropped)
    assert len(grid.tiles) == min(9, alive)
    side = int(np.ceil(np.sqrt(len(grid.tiles))))
    assert grid.sheet.size == (side * 48 + (side - 1) * 5,) * 2
    first = convscope.filter(model, "block1", grid.tiles[0]["channel"], recipe="keras2016",
                                       size=48, steps=1)
    assert np.array_equal(np.asarray(first), np.asarray(grid.sheet)[:48, :48])


def test_sheet_sizes():
    tile = Picture(np.zeros((128, 128, 3), np.uint8))
    assert stitch([tile] * 64).size == (1059, 1059)
    assert stitch([tile] * 10).size == (4 * 128 + 15, 4 * 128 + 15)
    assert stitch([tile]).size == (128, 128)


def test_recipe_options_are_checked():
    from convscope.errors import OutOfRangeError
    with pytest.raises(OutOfRangeError, match="optimizer must be one of normalized-ascent, adam"):
        get_recipe("lucid", optimizer="sgd")
    with pytest.raises(OutOfRangeError, match="steps must be positive"):
        get_recipe("keras2016", steps=0)
    assert get_recipe("lucid", steps=7, decay=1.5).steps == 7
