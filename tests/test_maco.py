"""The maco recipe on the real efficientnet-lite0: the phase-only image, the spectrum, views
of each unit in the one loop, batching, and what bad input gets."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from convscope.engine.batch import slot_scorer
from convscope.engine.objectives import channel
from convscope.engine.param import MacoImage
from convscope.engine.recipes import get_recipe
from convscope.engine.render import render
from convscope.engine.spectrum import default_spectrum, load_spectrum, measure_spectrum
from convscope.engine.transforms import RandomCrops
from convscope.io.builtin_photos import builtin_photos
from convscope.io.picture import to_tensor
from convscope.models.probe import Probe
from helpers import cli, refused

SMALL = {"steps": 6, "size": 96, "view_size": 64, "views": 3}


def test_the_phase_only_image_keeps_the_fixed_amplitude():
    """Before colours and sigmoid, |rFFT| of the image is the magnitude times one number per
    image (the standardisation), at every frequency the real inverse keeps as it is."""
    magnitude = default_spectrum().resized(64, 80)
    image = MacoImage.random([0, 1], magnitude, 64, 80)
    with torch.no_grad():
        amplitude = torch.fft.rfft2(image(), norm="ortho").abs()
    inner = (amplitude / magnitude)[..., 1:-1]  # columns 0 and 40 are made Hermitian by irfft
    for per_image in inner:
        assert float(per_image.std() / per_image.mean()) < 1e-3
    assert image.phase.shape == (2, 3, 64, 41)


def test_spectrum_is_reproducible_and_loads(tmp_path):
    photos = [(p.name, p.pixels) for p in builtin_photos()[:2]]
    a = measure_spectrum(photos, resolution=32, crops=3, seed=4)
    b = measure_spectrum(photos, resolution=32, crops=3, seed=4)
    c = measure_spectrum(photos, resolution=32, crops=3, seed=5)
    assert np.array_equal(a.magnitude, b.magnitude) and not np.array_equal(a.magnitude, c.magnitude)
    loaded = load_spectrum(a.save(tmp_path / "s.npz"))
    assert np.array_equal(loaded.magnitude, a.magnitude) and loaded.settings["seed"] == 4
    assert a.magnitude.shape == (3, 32, 17)
    resized = loaded.resized(50, 70)
    assert resized.shape == (3, 50, 36) and float(resized.min()) >= 0
    # read at the same frequencies, a spectrum resized to its own size is itself
    torch.testing.assert_close(loaded.resized(32, 32), torch.from_numpy(a.magnitude), atol=1e-4, rtol=1e-4)


def test_spectrum_command_writes_a_file_the_recipe_takes(tmp_path, photo_files, model):
    out = tmp_path / "mine.npz"
    run = cli("spectrum", str(photo_files["chelsea"].parent), "-o", str(out), "--resolution", "32",
              "--crops", "2", "--json")
    assert run.returncode == 0, run.stderr
    spectrum = load_spectrum(out)
    assert spectrum.settings["photos"] == 2 and "convscope spectrum" in spectrum.settings["command"]
    recipe = get_recipe("maco", spectrum=str(out), **SMALL)
    result = render(model, [channel("block5", 1)], recipe)
    assert result.pictures[0].size == (96, 96)


def test_shipped_spectrum_is_what_its_command_makes():
    shipped = default_spectrum()
    command = shipped.settings["command"]
    assert command.startswith("convscope spectrum --builtin")
    again = measure_spectrum([(p.name, p.pixels) for p in builtin_photos()], resolution=shipped.resolution,
                             crops=shipped.settings["crops_per_photo"], seed=shipped.settings["seed"])
    np.testing.assert_allclose(again.magnitude, shipped.magnitude, rtol=1e-5, atol=1e-6)


def test_a_units_objective_is_the_mean_over_its_crops(model):
    """The loop's scorer on K views of B images equals a plain loop over images and crops."""
    crops = RandomCrops(views=3, size=(64, 64), scale=0.5, noise=0.05)
    images = torch.rand(2, 3, 96, 96)
    theta, drawn = crops.draw(torch.Generator().manual_seed(0))
    noise = drawn.tensor()
    units = [5, 9]
    with torch.no_grad(), Probe(model, ["block5"]) as probe:
        views = crops.transform(images, theta, noise)
        assert views.shape == (6, 3, 64, 64)
        scored = slot_scorer([channel("block5", u) for u in units], model.device, views=3)(probe(views))
        expected = []
        for i, u in enumerate(units):
            per_crop = [probe(crops.transform(images[i:i + 1], theta[k:k + 1], noise[k:k + 1]))["block5"][0, u].mean()
                        for k in range(3)]
            expected.append(torch.stack(per_crop).mean())
    torch.testing.assert_close(scored, torch.stack(expected), atol=1e-4, rtol=1e-4)


def test_crops_sample_the_picture_where_they_say():
    """A crop of scale 1 at the centre is the picture resized; of scale 0.5 at the centre, its
    middle half."""
    ramp = torch.linspace(0, 1, 128).expand(1, 3, 128, 128).contiguous()
    crops = RandomCrops(views=1, size=(32, 32), scale=1.0, noise=0.0)
    theta = torch.tensor([[[1.0, 0, 0], [0, 1.0, 0]]])
    whole = crops.transform(ramp, theta, torch.zeros(1, 3, 32, 32))
    assert abs(float(whole[0, 0, 0, 0]) - 1 / 128) < 0.02 and abs(float(whole[0, 0, 0, -1]) - 127 / 128) < 0.02
    half = crops.transform(ramp, theta * torch.tensor([[[0.5], [0.5]]]), torch.zeros(1, 3, 32, 32))
    assert abs(float(half[0, 0, 0, 0]) - 0.25) < 0.02 and abs(float(half[0, 0, 0, -1]) - 0.75) < 0.02


def test_crops_can_shrink_over_the_steps():
    crops = RandomCrops(views=64, size=(32, 32), scale=0.8, noise=0.0, scale_end=0.2, steps=5)
    gen = torch.Generator().manual_seed(0)
    sides = [float(crops.draw(gen)[0][:, 0, 0].mean()) for _ in range(5)]
    for side, scale in zip(sides, (0.8, 0.65, 0.5, 0.35, 0.2)):
        assert abs(side - scale) < 0.05 * scale  # the drawn sides average the scheduled scale
    fixed = RandomCrops(views=64, size=(32, 32), scale=0.5, noise=0.0)
    assert fixed.scale_now() == 0.5 and (fixed.draw(gen), fixed.scale_now())[1] == 0.5


@pytest.fixture
def two_threads():
    """Two threads for a test whose bound was measured with two (one thread rounds otherwise)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(threads)


def test_maco_batch_equals_units_one_by_one(model, two_threads):
    """Each slot gets its own start and the same crops and noise, so a unit's first step does
    not depend on its batch (equal to float rounding). NAdam at lr 1.0 moves every phase by
    about the learning rate whatever its gradient's size, so later steps amplify that
    rounding: after 6 steps each unit is still far closer to its own single run than a
    different unit from the same start is."""
    units = [3, 17, 40]
    objs = [channel("block8", u) for u in units]
    for steps in (1, 6):
        recipe = get_recipe("maco", **{**SMALL, "steps": steps})
        together = render(model, objs, recipe, seeds=units, transform_seed=2, batch=3)
        for i, u in enumerate(units):
            alone = render(model, [objs[i]], recipe, seeds=[u], transform_seed=2, batch=1)
            diff = float((alone.images[0] - together.images[i]).abs().mean())
            if steps == 1:
                assert diff < 1e-6
                torch.testing.assert_close(alone.final[0], together.final[i], atol=1e-4, rtol=1e-4)
            else:
                other = render(model, [objs[(i + 1) % 3]], recipe, seeds=[u], transform_seed=2, batch=1)
                assert diff < 0.3 * float((other.images[0] - together.images[i]).abs().mean())


def test_maco_raises_its_units_and_gives_importance(model):
    recipe = get_recipe("maco", **{**SMALL, "steps": 24})
    result = render(model, [channel("block8", u) for u in (0, 1)], recipe)
    assert result.images.shape == (2, 3, 96, 96)
    assert (result.history[-1] > result.history[0] + 1).all()
    assert (result.final > 0).all()
    assert all(p.importance is not None and p.importance.shape == (96, 96) for p in result.pictures)
    again = render(model, [channel("block8", u) for u in (0, 1)], recipe)
    assert torch.equal(result.images, again.images)


def test_maco_refuses_a_photo_start(model):
    with pytest.raises(ValueError, match="starts from noise"):
        render(model, [channel("block8", 0)], get_recipe("maco", **SMALL),
               init=to_tensor(builtin_photos()[0].pixels)[None, :, :96, :96])


def test_maco_options_are_checked():
    for options, words in (({"crop_scale": 1.5}, "crop_scale"), ({"crop_scale": 0}, "crop_scale"),
                           ({"noise": -0.1}, "noise"), ({"views": 0}, "views"), ({"view_size": -1}, "view_size")):
        with pytest.raises(ValueError, match=words):
            get_recipe("maco", **options)
    with pytest.raises(ValueError, match="views"):
        get_recipe("lucid", views=4)


def test_filter_and_grid_with_maco_on_the_command_line(tmp_path):
    out = tmp_path / "unit.png"
    run = cli("filter", "efficientnet-lite0", "block8", "3", "-o", str(out), "--recipe", "maco", "--steps", "4",
              "--size", "96", "--view-size", "64", "--views", "2", "--alpha", "--json")
    assert run.returncode == 0, run.stderr
    from PIL import Image
    with Image.open(out) as written:
        assert written.mode == "RGBA" and written.size == (96, 96)
    grid = tmp_path / "grid.png"
    run = cli("grid", "efficientnet-lite0", "block8", "-o", str(grid), "--recipe", "maco", "--steps", "3",
              "--size", "96", "--view-size", "64", "--views", "2", "--candidates", "4", "--top", "4", "--batch", "2")
    assert run.returncode == 0, run.stderr
    assert grid.is_file()


def test_bad_maco_input_gets_one_line(tmp_path, capsys):
    out = tmp_path / "x.png"
    base = ["filter", "efficientnet-lite0", "block8", "3", "-o", str(out)]
    refused(capsys, *base, "--views", "4", match="--views sets the crops of --recipe maco")
    refused(capsys, *base, "--crop-scale-end", "0.2", match="--crop-scale-end sets the crops")
    refused(capsys, *base, "--recipe", "maco", "--crop-scale-end", "0", match="crop_scale_end")
    refused(capsys, *base, "--recipe", "maco", "--crop-scale", "1.5", match="crop_scale")
    refused(capsys, *base, "--recipe", "maco", "--noise", "2", match="noise")
    refused(capsys, *base, "--spectrum", str(out), match="--spectrum is for --recipe maco")
    not_npz = tmp_path / "notes.npz"
    not_npz.write_text("hello")
    refused(capsys, *base, "--recipe", "maco", "--spectrum", str(not_npz), match="not a spectrum file")
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, magnitude=np.ones((3, 8, 8), np.float32), format="convscope-spectrum-1")
    refused(capsys, *base, "--recipe", "maco", "--spectrum", str(wrong), match="not (3, R, R//2+1)")
    other = tmp_path / "other.npz"
    np.savez(other, weights=np.ones(3))
    refused(capsys, *base, "--recipe", "maco", "--spectrum", str(other), match="not a convscope spectrum")
    assert not out.exists()
    refused(capsys, "spectrum", "-o", str(tmp_path / "s.npz"), match="--builtin")
    refused(capsys, "spectrum", "--builtin", "-o", str(tmp_path / "s.png"), match=".npz")
    refused(capsys, "spectrum", str(not_npz), "-o", str(tmp_path / "s.npz"), match="no photo could be read")
    assert not (tmp_path / "s.npz").exists()


def test_classviz_twins_and_atlas_take_maco(tmp_path):
    small = ["--recipe", "maco", "--size", "96", "--view-size", "64", "--views", "2"]
    out = tmp_path / "class.png"
    run = cli("classviz", "65", "-o", str(out), "--steps", "3", *small, "--json")
    assert run.returncode == 0, run.stderr
    import json
    sidecar = json.loads(run.stdout)
    assert sidecar["recipe"]["name"] == "maco" and sidecar["recipe"]["views"] == 2 and sidecar["size"] == [96, 96]
    assert sidecar["recipe"]["crop_scale_end"] == 0.2  # class pictures: crops shrink over the steps
    run = cli("twins", "efficientnet-lite0", "stem", "-o", str(tmp_path / "twins.png"), "--steps", "2",
              "--threshold", "0.3", "--top", "1", *small)
    assert run.returncode == 0, run.stderr
    run = cli("atlas", "--out", str(tmp_path / "atlas"), "--layers", "stem", "--steps", "2", *small, "--json")
    assert run.returncode == 0, run.stderr
    from PIL import Image
    with Image.open(tmp_path / "atlas" / "units" / "stem" / "0000.png") as picture:
        assert picture.size == (96, 96)


def test_objectives_that_compare_slots_see_slots_not_crops(model):
    """channel_interpolate, alignment and diversity weigh batch slots against each other; with
    views, a slot's crops share its weight and are compared with other slots as one."""
    from convscope.engine.objectives import VIEWS, alignment, channel_interpolate, diversity

    images = torch.rand(6, 3, 64, 64)  # 3 slots x 2 views
    with torch.no_grad(), Probe(model, ["block5"]) as probe:
        acts = probe(images)
    viewed = {**acts, VIEWS: torch.tensor(2)}
    a, b = acts["block5"][:, 1].mean(dim=(1, 2)), acts["block5"][:, 5].mean(dim=(1, 2))
    t = torch.tensor([0.0, 0.0, 0.5, 0.5, 1.0, 1.0])
    torch.testing.assert_close(channel_interpolate("block5", 1, "block5", 5)(viewed), (1 - t) * a + t * b)
    slots = {"block5": acts["block5"].view(3, 2, *acts["block5"].shape[1:]).mean(dim=1)}
    for objective in (alignment("block5"), diversity("block5")):
        per_row = objective(viewed)
        assert torch.equal(per_row[0::2], per_row[1::2])
        if str(objective).startswith("alignment"):  # on the slots' mean activations
            torch.testing.assert_close(per_row[0::2], objective(slots))


def test_noise_drawn_up_front_is_made_again_the_same():
    crops = RandomCrops(views=2, size=(16, 16), scale=0.5, noise=0.1)
    gen, plain = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    _theta, drawn = crops.draw(gen)
    torch.rand(2, generator=plain), torch.randn(2, 2, generator=plain)
    noise = torch.randn(2, 3, 16, 16, generator=plain) * 0.1
    noise = noise + (torch.rand(2, 3, 16, 16, generator=plain) - 0.5) * 0.1
    assert torch.equal(drawn.tensor(), noise)
    assert torch.equal(gen.get_state(), plain.get_state())  # the next draw is unchanged
