"""Trust: the path score, the machine's two-alternative choice, the trials page, and the same
numbers from trust, stats and the atlas."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import convscope
from convscope.data.photo_sources import as_source
from convscope.data.photo_stats import photo_statistics
from convscope.data.trust_record import TrustRecord
from convscope.engine.recipes import get_recipe
from convscope.errors import ConvscopeError
from convscope.methods.trust.assess import TrustMeter, TrustSettings
from convscope.methods.trust.choice import observer_correct, wilson_interval
from convscope.methods.trust.controls import starting_noise
from convscope.methods.trust.judge import Judge, load_judge
from convscope.methods.trust.path import spearman
from convscope.models.probe import Probe
from helpers import cli
from helpers import distinct_photos as write_distinct_photos
from trust_nets import KINDS, PALETTE, SIDE, blind_model, planted_model, small_model, write_colour_photos, write_kind_photos

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def kind_photos(tmp_path_factory) -> Path:
    return write_kind_photos(tmp_path_factory.mktemp("kinds"), 60)


@pytest.fixture(scope="module")
def distinct_photos(tmp_path_factory) -> Path:
    """Every photo that ships with scikit-image and scikit-learn, once (22 photos)."""
    return write_distinct_photos(tmp_path_factory.mktemp("distinct"))


def numpy_spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's correlation of two vectors without ties, straight from its definition."""
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


def test_spearman_gives_tied_values_their_mean_rank():
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 5, (3, 40)).astype(float), rng.integers(0, 5, (2, 40)).astype(float)

    def mean_ranks(v: np.ndarray) -> np.ndarray:
        return np.array([(v < x).sum() + ((v == x).sum() + 1) / 2 for x in v])

    expected = [[np.corrcoef(mean_ranks(x), mean_ranks(y))[0, 1] for y in b] for x in a]
    assert np.allclose(spearman(a, b), expected)
    assert np.allclose(spearman(np.ones((1, 40)), b), 0)  # a constant vector agrees with nothing


def measure(meter: TrustMeter, unit: int, pictures: torch.Tensor, others: dict | None = None):
    """The unit's measures with ``pictures`` as its pictures, gray images as its noise control, and
    ``others`` (unit -> pictures) as its other units."""
    noise = meter.picture_set(torch.full_like(pictures, 0.5))
    return meter.measure(unit, meter.picture_set(pictures), noise,
                         {u: meter.picture_set(p) for u, p in (others or {}).items()})


def path_meter(model, photos: Path, trials: int = 20) -> tuple[TrustMeter, object]:
    source = as_source(photos)
    settings = TrustSettings(Judge(convscope.load("efficientnet-lite2")), trials=trials, references=3)
    stats = photo_statistics(model, ["conv3"], source, top=settings.top_photos, low=settings.low_photos)["conv3"]
    return TrustMeter(model, "conv3", source, stats, settings, 0), stats


def test_path_score_of_a_top_photo_is_about_one_and_of_a_constant_image_about_zero_or_below(kind_photos):
    """Checked against NumPy level by level; a unit whose top photos mix two kinds is left out
    of the "about one" check (its top photo is nearer one of its kinds than the centroid)."""
    model = small_model()
    meter, stats = path_meter(model, kind_photos)
    layers = ["conv1", "conv2"]

    def means(images: torch.Tensor) -> dict[str, np.ndarray]:
        with torch.no_grad(), Probe(model, layers) as probe:
            acts = probe(images)
        return {n: acts[n].flatten(2).mean(dim=2).double().numpy() for n in layers}

    coherent = [u for u in range(4) if len({i % KINDS for i, _v in stats.top_by_mean(u)[:8]}) == 1]
    assert len(coherent) >= 2
    for unit in range(4):
        top = stats.top_by_mean(unit)
        own = measure(meter, unit, meter.source.image(model, top[0][0]))
        constant = measure(meter, unit, torch.zeros(1, 3, SIDE, SIDE))
        if unit in coherent:  # its top photos are all of one kind: any of them stands where they do
            assert abs(own.path.mean_score - 1) < 0.02, own.path.as_dict()
        assert constant.path.mean_score < 0.2, constant.path.as_dict()
        # the levels, straight from NumPy: each difference from the folder's mean against the top centroid
        top_ids, random_ids = own.path_photos
        load = lambda ids: torch.cat([meter.source.image(model, i) for i in ids])  # noqa: E731
        folder = {n: v.mean(axis=0) for n, v in means(load(meter.folder_sample)).items()}
        tops, randoms = means(load(top_ids)), means(load(random_ids))
        picture = means(meter.source.image(model, top[0][0]))
        for k, name in enumerate(layers):
            t = tops[name] - folder[name]
            others = [np.delete(t, i, axis=0).mean(axis=0) for i in range(len(t))]  # each top photo's others

            def level(rows: np.ndarray) -> float:
                return float(np.mean([numpy_spearman(r - folder[name], c) for r in rows for c in others]))

            assert own.path.picture[k] == pytest.approx(level(picture[name]))
            assert own.path.chance[k] == pytest.approx(level(randoms[name]))
            assert own.path.natural[k] == pytest.approx(np.mean([numpy_spearman(t[i], c) for i, c in enumerate(others)]))
        if own.path.interval is not None and unit in coherent:
            low, high = own.path.interval
            assert low <= own.path.mean_score <= high


def test_the_verdict_holds_on_a_network_of_planted_detectors(tmp_path):
    """Each unit detects one colour; a judge that sees the colours. A unit's strongest photos
    as its pictures "show"; its starting noise never does; another unit's pictures "do not".
    Noise's path score stays below the strongest photos' for every unit."""
    model, colours = planted_model(), len(PALETTE)
    source = as_source(write_colour_photos(tmp_path / "colours", 100))
    settings = TrustSettings(Judge(planted_model("planted-judge")), trials=200, references=3)
    stats = photo_statistics(model, ["conv3"], source, top=settings.top_photos, low=settings.low_photos)["conv3"]
    meter = TrustMeter(model, "conv3", source, stats, settings, 0)
    strongest = {u: meter.picture_set(torch.cat([source.image(model, i) for i, _v in stats.top_by_mean(u)[:3]]))
                 for u in range(colours)}
    recipe = get_recipe("lucid", size=SIDE)
    for unit in range(colours):
        assert {i % colours for i, _v in stats.top_by_mean(unit)[:8]} == {unit}  # the planted detector works
        noise = meter.picture_set(starting_noise(recipe, model, [unit, unit + 7, unit + 11]))
        others = {o: strongest[o] for o in range(colours) if o != unit}
        by_photos = meter.measure(unit, strongest[unit], noise, others)
        by_noise = meter.measure(unit, noise, noise, others)
        by_another = meter.measure(unit, strongest[(unit + 1) % colours], noise, others)
        assert by_photos.verdict.verdict == "shows", by_photos.verdict
        assert by_noise.verdict.verdict != "shows" and by_noise.verdict.p_noise == 1.0
        assert by_another.verdict.verdict == "does not", by_another.verdict
        noise_path = by_photos.noise.path
        assert noise_path is not None and noise_path.mean_score < by_photos.path_score <= 1.02
        assert noise_path.interval is None or noise_path.interval[0] <= 1  # not above 1 beyond its interval


def test_the_judge_reads_its_layer_at_the_units_depth_or_the_layer_named(model):
    lite2 = convscope.load("efficientnet-lite2")
    judge = Judge(lite2)
    assert [judge.at_depth_of(model, layer).layer for layer in ("stem", "block8", "head", "logits")] == \
        ["stem", "block11", "head", "head"]  # block8 is map layer 9 of 0-17; 9/17 of 22 rounds to 12: block11
    assert judge.at_depth_of(model, "block8").reads == "its layer at the depth of the unit examined"
    fixed = load_judge("efficientnet-lite2:block3", model)
    assert fixed.at_depth_of(model, "head").layer == "block3" and fixed.reads == "block3"
    with pytest.raises(ConvscopeError, match="no layer 'nope'"):
        load_judge("efficientnet-lite2:nope", model)


def test_a_verdict_needs_its_controls_and_a_rate_in_range():
    from convscope.errors import OutOfRangeError
    from convscope.methods.trust.choice import ChoiceScore
    from convscope.methods.trust.verdict import decide

    right, chance = ChoiceScore((True,) * 50), ChoiceScore((True, False) * 25)
    few = decide(right, chance, [chance, chance], right, 0.05)
    assert few.verdict == "cannot say" and "at least 3 are needed" in few.reason
    assert decide(right, chance, [chance] * 3, right, 0.05).verdict == "shows"
    assert decide(chance, chance, [chance] * 3, right, 0.05).verdict == "does not"
    good, wrong = ChoiceScore((True,) * 45 + (False,) * 5), ChoiceScore((False,) * 50)
    half = decide(good, chance, [right, right, wrong, wrong], right, 0.05)  # above their mean, not above most
    assert half.verdict == "cannot say" and "not most of them" in half.reason and half.p_other_units < 0.05
    with pytest.raises(OutOfRangeError, match="in \\(0, 0.5\\)"):
        TrustSettings(Judge(blind_model()), false_positive=0.5)


def test_the_default_trials_are_200_or_as_many_as_the_photos_allow():
    from convscope.methods.trust.assess import trials_for
    from convscope.methods.trust.choice import photos_needed

    assert trials_for(None, 1000, 3) == 200 and trials_for(7, 10, 3) == 7
    assert trials_for(None, 30, 3) == 144 and photos_needed(144, 3) == 30
    assert trials_for(None, 10, 3) == 25  # too few photos even for 25 trials: refused as too small
    for references in (1, 3):
        for photos in range(10, 80):
            trials = trials_for(None, photos, references)
            if 25 < trials < 200:  # the most trials these photos allow
                assert photos_needed(trials, references) <= photos < photos_needed(trials + 1, references)


def test_observer_picks_the_query_the_references_are():
    g = torch.Generator().manual_seed(0)
    strong, weak = torch.randn(30, 16, generator=g), torch.randn(30, 16, generator=g)
    assert observer_correct(strong[:, None], strong, weak, g).all()
    assert not observer_correct(weak[:, None], strong, weak, g).any()


def test_wilson_interval():
    low, high = wilson_interval(8, 10)
    assert (round(low, 3), round(high, 3)) == (0.490, 0.943)
    assert wilson_interval(0, 5)[0] == 0 and wilson_interval(5, 5)[1] == 1


def test_a_judge_that_ignores_its_input_is_at_chance(kind_photos):
    model = small_model()
    source = as_source(kind_photos)
    settings = TrustSettings(Judge(blind_model()), trials=200, references=3)
    stats = photo_statistics(model, ["conv3"], source, top=settings.top_photos, low=settings.low_photos)["conv3"]
    meter = TrustMeter(model, "conv3", source, stats, settings, 0)
    measured = measure(meter, 0, meter.source.image(model, stats.top_by_mean(0)[0][0]).repeat(3, 1, 1, 1))
    for score in (measured.choice_pictures, measured.choice_photos, measured.choice_random):
        low, high = score.as_dict()["interval"]
        assert low <= 0.5 <= high, score.as_dict()


def test_trust_and_stats_give_the_same_numbers_and_the_trials_page_works(distinct_photos, tmp_path, chromium, model):
    out, trials = tmp_path / "trust", tmp_path / "trials"
    common = ["--units", "0-3", "--photos", str(distinct_photos), "--recipe", "keras2016", "--trials", "12",
              "--seed", "3", "--json"]
    done = cli("trust", "efficientnet-lite0", "block2", *common, "--out", str(out), "--export-trials", str(trials))
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    written = json.loads((out / "trust.json").read_text())
    assert written["units"] == record["units"]
    typed = TrustRecord.from_json(written)  # the typed record keeps the file: same keys, same order
    assert list(typed.to_json().items()) == list(written.items()) and typed.layer == "block2"
    for name in ("0000.png", "0000.picture1.png", "0000.picture2.png", "0000.path.png", "0001.path.png", "sheet.png"):
        assert (out / name).stat().st_size > 0
    stats = cli("stats", "efficientnet-lite0", "block2", *common)
    assert stats.returncode == 0, stats.stderr
    assert json.loads(stats.stdout)["units"] == record["units"]
    for row in record["units"]:
        assert row["path_score"] == row["trust"]["path_score"]
        assert len(row["trust"]["path"]["layers"]) == 3  # stem, block0, block1

    key = json.loads((trials / "answer-key.json").read_text())
    assert key["trials"] == 4 * 2 * 12  # units x kinds x trials
    chromium.get((trials / "index.html").as_uri())
    shown = json.loads(chromium.find_element("id", "trials").get_attribute("textContent"))
    source = as_source(distinct_photos)
    names = {f"images/photo-{i:06d}.png": name for i, name in enumerate(source.names)}
    with torch.no_grad(), Probe(model, ["block2"]) as probe:
        for trial in shown:
            answer = key["answers"][trial["id"]]
            strong = trial["queries"][0 if answer["answer"] == "A" else 1]
            assert names[strong] == answer["strong_photo"]
            unit = answer["unit"]
            for photo, mean in ((answer["strong_photo"], answer["strong_mean"]), (answer["weak_photo"], answer["weak_mean"])):
                image = source.image(model, source.names.index(photo))
                assert probe(image)["block2"][0, unit].mean().item() == pytest.approx(mean, rel=1e-4, abs=1e-5)
            assert answer["strong_mean"] > answer["weak_mean"]
    for _ in shown:
        chromium.find_element("id", "queryA").click()
    assert chromium.find_element("id", "done").is_displayed()
    assert "96 of 96" in chromium.find_element("id", "count").text
    assert not [e for e in chromium.get_log("browser") if e["level"] == "SEVERE"]


@pytest.mark.parametrize("extra, match", [
    (["--layer-first"], "first layer"),
    (["--judge", "no-such-net"], "cannot load the judge"),
    (["--judge", "efficientnet-lite2:no-such-layer"], "has no layer 'no-such-layer'"),
    (["--trials", "0"], "--trials must be positive"),
    (["--few-photos"], "need at least"),
    (["--units", "0-2"], "give --units at least 4 units"),
    (["--false-positive", "0.5"], "--false-positive such as 0.05"),
])
def test_bad_input_is_one_line_and_writes_nothing(capsys, tmp_path, distinct_photos, extra, match):
    from convscope.cli import main

    photos = distinct_photos
    if extra == ["--few-photos"]:
        photos = tmp_path / "few"
        photos.mkdir()
        for path in sorted(distinct_photos.iterdir())[:5]:
            (photos / path.name).write_bytes(path.read_bytes())
        extra = []
    layer = "stem" if extra == ["--layer-first"] else "block2"
    extra = [] if extra == ["--layer-first"] else extra
    out = tmp_path / "out"
    units = [] if "--units" in extra else ["--units", "0-3"]
    code = main(["trust", "efficientnet-lite0", layer, *units, "--photos", str(photos), "--out", str(out),
                 "--recipe", "keras2016", *extra])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and match in err[0] and "Traceback" not in err[0], err
    assert not (out / "trust.json").exists()


def test_the_atlas_pages_show_the_numbers_trust_gives(kind_photos, tmp_path, chromium):
    net = "tests/trust_nets.py:small_model"
    common = ["--photos", str(kind_photos), "--recipe", "keras2016", "--seed", "2", "--trials", "20"]
    done = cli("trust", net, "conv3", "--units", "0-3", "--references", "1", "--out", str(tmp_path / "trust"),
               "--json", *common)
    assert done.returncode == 0, done.stderr
    units = json.loads(done.stdout)["units"]
    atlas = cli("atlas", net, "--layers", "conv3", "--out", str(tmp_path / "atlas"), *common)
    assert atlas.returncode == 0, atlas.stderr
    records = json.loads((tmp_path / "atlas" / "atlas.json").read_text())["layers"][0]["units"]
    for row, record in zip(units, records):
        for key in ("activation", "ratio", "path_score", "choice_pictures", "choice_photos", "trust"):
            assert record[key] == row[key], key
    chromium.get((tmp_path / "atlas" / "units" / "conv3" / "0001.html").as_uri())
    text = chromium.find_element("tag name", "body").text
    assert f"{units[1]['path_score']:.2f}" in text and "Can its picture be trusted?" in text
    verdict = units[1]["trust"]["verdict"]
    assert verdict["text"] in text and "false-positive rate 0.05" in text and verdict["rule"] in text
    plot = chromium.find_element("css selector", "img[src='0001.path.png']")
    assert chromium.execute_script("return arguments[0].naturalWidth", plot) > 0
    chromium.get((tmp_path / "atlas" / "index.html").as_uri())
    counts = [sum(u["verdict"] == v for u in units) for v in ("shows", "does not", "cannot say")]
    assert " / ".join(map(str, counts)) in chromium.find_element("tag name", "body").text
