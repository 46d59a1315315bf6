"""Concepts: dictionaries recover planted directions, the pass resumes to the same bytes after
kill -9, the Python API agrees with the page and the JSON, the removal and importance measures
find the concept a class reads, and the real network runs end to end into a page a browser loads."""
from __future__ import annotations

import dataclasses
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import convscope
from convscope.cli import main
from convscope.data.photo_sources import PhotoFolder
from convscope.data.vector_shards import VectorDraw, collect_vectors
from convscope.jobs.atlas.store import same_tree
from convscope.methods.concepts.dictionary import ConceptDictionary
from convscope.methods.concepts.effects import removal_effects
from convscope.methods.concepts.measures import matched_cosines, top_units
from convscope.methods.concepts.nmf import train_nmf
from convscope.methods.concepts.record import ConceptsRecord
from convscope.methods.concepts.registry import dictionary_method, forget_method
from convscope.methods.concepts.sae import train_sae
from convscope.methods.concepts.schedule import Training
from convscope.models.probe import Probe
from convscope.models.suffix import logits_from_layer
from convscope.pages.concepts_page import write_concepts_pages
from helpers import cli

sys.path.insert(0, str(Path(__file__).parent))
from concept_nets import directions, make_model, write_photos  # noqa: E402

NETS = str(Path(__file__).parent / "concept_nets.py")
SMALL = ["--steps", "4", "--size", "64", "--epochs", "40", "--workers", "0", "--photo-batch", "8"]


@pytest.fixture(scope="module")
def planted_photos(tmp_path_factory) -> Path:
    return write_photos(tmp_path_factory.mktemp("planted") / "photos", 200)


@pytest.fixture(scope="module")
def planted_vectors(planted_photos, tmp_path_factory):
    return collect_vectors(make_model(), "mix", PhotoFolder(planted_photos, workers=0), tmp_path_factory.mktemp("vectors"),
                           VectorDraw(3000))


def test_the_pass_holds_out_photos_and_spreads_the_samples(planted_vectors):
    shards = planted_vectors
    assert shards.count == 180 * 16 and shards.map_size == (4, 4) and len(shards.held_out) == 20
    photos = torch.cat([shards.shard(i)["photos"] for i in range(len(shards.shards))])
    assert not set(photos.tolist()) & set(shards.held_out.tolist())
    assert len(shards.shards) > 1 and shards.smallest >= 0
    batches = list(shards.minibatches(500, epoch=0, seed=0))
    assert sum(len(b) for b in batches) == shards.count and batches[0].dtype == torch.float32


@pytest.mark.parametrize("method, concepts", [("nmf", 6), ("sae", 12)])
def test_both_methods_recover_the_planted_directions(planted_vectors, method, concepts):
    """The SAE gets an overcomplete dictionary (12 atoms for 6 directions, 2 active), as SAEs are used:
    with exactly 6 atoms and k = 2 a TopK SAE spends its second slot on a correction atom. Its
    minibatch training ends 0.93 to 0.997 close to its worst-matched direction over seeds 0-4 on
    an Intel Xeon (its float rounding differs between CPUs), so its floor is lower than NMF's."""
    trainer = {"nmf": train_nmf, "sae": train_sae}[method]
    dictionary = trainer(planted_vectors, Training(concepts, 2, seed=0))
    cosines = matched_cosines(directions(), dictionary.atoms)
    assert cosines.min() >= {"nmf": 0.95, "sae": 0.92}[method] and cosines.mean() >= 0.95


def test_nmf_codes_reconstruct_a_planted_mix_exactly():
    atoms = directions()
    codes = torch.zeros(50, 6)
    codes[torch.arange(50), torch.arange(50) % 6] = torch.linspace(0.5, 2, 50)
    from convscope.methods.concepts.dictionary import nnls_codes

    found = nnls_codes(codes @ atoms, atoms, steps=500)
    assert torch.allclose(found, codes, atol=1e-3)


def test_the_units_baseline_keeps_the_largest_units():
    x = torch.tensor([[3.0, -5.0, 1.0, 0.5]])
    assert top_units(x, 2).tolist() == [[3.0, -5.0, 0.0, 0.0]]


def test_removal_with_the_layer_replaced_equals_the_network():
    model = convscope.load("efficientnet-lite0")
    images = torch.rand(2, 3, 224, 224)
    with torch.no_grad(), Probe(model, ["head", "block12"]) as probe:
        acts = probe(images)
    real = model.logits(images)
    head = model.layer("head").after.fn(acts["head"])
    assert torch.allclose(logits_from_layer(model, "head", head, images), real, atol=1e-3)
    assert torch.allclose(logits_from_layer(model, "block12", acts["block12"], images), real, atol=1e-3)


def test_removing_the_concept_a_class_reads_is_what_moves_it(planted_vectors, planted_photos):
    model = make_model()
    dictionary = train_nmf(planted_vectors, Training(6, 2, seed=0))
    match = (directions() @ dictionary.atoms.T).argmax(dim=1)  # true concept -> atom
    images = torch.stack([torch.from_numpy(np.array(Image.open(p))).permute(2, 0, 1).float() / 255
                          for p in sorted(planted_photos.glob("*.png"))[:8]])
    with torch.no_grad(), Probe(model, ["mix"]) as probe:
        maps = probe(images)["mix"]
    effects = removal_effects(model, "mix", dictionary, maps, images)
    assert int(effects[:, 0].argmax()) == int(match[2])  # class 0 reads concept 2 alone


def concepts_command(out: Path, photos: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "convscope", "concepts", f"{NETS}:make_model", "mix", "--photos", str(photos),
            "--out", str(out), "--concepts", "6", "--k", "2", "--samples", "3000", "--classes", "0", *SMALL, *extra]


@pytest.fixture(scope="module")
def planted_run(planted_photos, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run") / "concepts"
    result = subprocess.run(concepts_command(out, planted_photos, "--json"), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return out


KILLER = """
import os, sys
sys.path.insert(0, {tests!r})
from concept_nets import make_model
import convscope
stage_wanted, at = {stage!r}, {at}
def report(stage, done, total):
    if stage == stage_wanted and done >= at:
        os.kill(os.getpid(), 9)
convscope.concepts(make_model(), "mix", {photos!r}, {out!r}, concepts=6, k=2, samples=3000, classes=["0"],
                   recipe=convscope.get_recipe("lucid", steps=4, size=64), epochs=40, photo_batch=8, workers=0,
                   progress=report)
"""


@pytest.mark.parametrize("stage, most", [("photos", 190), ("training", 300)])
def test_kill_9_then_resume_gives_identical_files(planted_run, planted_photos, tmp_path, stage, most):
    out = tmp_path / "concepts"
    at = random.randint(8, most)  # a random photo batch (past the first shard) or training step
    script = KILLER.format(tests=str(Path(__file__).parent), stage=stage, at=at, photos=str(planted_photos), out=str(out))
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=600)
    assert killed.returncode == -9, killed.stderr
    assert not (out / "concepts.json").exists()
    result = subprocess.run(concepts_command(out, planted_photos), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert same_tree(out, planted_run) == []


def test_the_python_api_agrees_with_the_page_and_the_json(planted_run, planted_photos):
    found = convscope.api.Concepts.open(planted_run, make_model())
    record = json.loads((planted_run / "concepts.json").read_text())
    page = (planted_run / "index.html").read_text()
    embedded = json.loads(page.split('<script type="application/json" id="record">')[1].split("</script>")[0])
    assert embedded["measures"] == record["measures"] == found.measures.to_json()
    assert json.dumps(ConceptsRecord.from_json(record).to_json()) == json.dumps(record)  # content and order kept
    assert f"{record['measures']['explained_variance']:.3f}" in page
    for concept in record["concepts"]:
        for top in concept["photos"][:2]:
            codes = found.maps(planted_photos / top["file"])[concept["index"]]
            y, x = top["position"]
            assert float(codes[y, x]) == pytest.approx(top["peak"], rel=1e-4, abs=1e-5)
            assert float(codes.max()) == pytest.approx(top["peak"], rel=1e-4, abs=1e-5)
    from safetensors.torch import load_file

    held = load_file(str(planted_run / "held-out-codes" / "part-00000.safetensors"))
    assert len(held["photos"]) == record["held_out_photos"]
    files = json.loads((planted_run / "vectors" / "vectors.json").read_text())["files"]
    first = found.maps(planted_photos / files[int(held["photos"][0])])
    assert torch.allclose(held["codes"][0].float(), first, rtol=2e-3, atol=2e-3)
    vectors = torch.rand(5, 16)
    codes = found.encode(vectors)
    assert torch.allclose(found.decode(codes), codes @ found.dictionary.atoms + found.dictionary.offset)
    assert "explained variance" in found._repr_html_()


def test_a_dictionary_below_the_units_baseline_is_said_plainly(planted_run, tmp_path):
    record = ConceptsRecord.from_json(json.loads((planted_run / "concepts.json").read_text()))
    units = record.units_baseline.explained_variance
    assert record.measures.explained_variance >= units  # the planted concepts beat the units
    assert record.baseline_note() is None and "units do better" not in (planted_run / "index.html").read_text()
    weaker = dataclasses.replace(record, measures=dataclasses.replace(record.measures, explained_variance=units / 2))
    note = weaker.baseline_note()
    assert note is not None and f"{units / 2:.3f}" in note and f"{units:.3f}" in note
    page = write_concepts_pages(tmp_path, weaker).read_text()
    assert "units do better" in page


def test_each_concept_has_its_trust_measures_on_its_page(planted_run):
    record = json.loads((planted_run / "concepts.json").read_text())
    assert record["trust"]["references"] == 1 and record["trust"]["trials"] == 200
    for concept in record["concepts"]:
        trust = concept["trust"]
        assert trust["path"]["layers"] == ["codes"] and trust["choice_pictures"]["trials"] == 200
        assert concept["path_score"] == trust["path_score"]
        assert (planted_run / "concepts" / f"{concept['name']}.path.png").stat().st_size > 0
        page = (planted_run / "concepts" / f"{concept['name']}.html").read_text()
        assert "Can its picture be trusted?" in page and f"{concept['name']}.path.png" in page
        assert trust["verdict"]["text"] in page and len(trust["controls"]["other_units"]["units"]) >= 3
    # the planted concepts are separate patterns: their top photos tell strong photos from weak ones,
    # beyond chance by more than the 95% interval of 200 trials (about 0.07)
    assert np.median([c["trust"]["choice_photos"]["score"] for c in record["concepts"]]) > 0.5 + 1.96 * (0.25 / 200) ** 0.5


def test_the_class_weighed_finds_its_concept_and_deletion_falls_faster(planted_run):
    record = json.loads((planted_run / "concepts.json").read_text())
    weighed = record["classes"][0]
    assert weighed["index"] == 0 and weighed["photos"] > 0
    atoms = torch.tensor([c for c in _atoms(planted_run)])
    concept_two = int((directions()[2] @ atoms.T).argmax())
    assert weighed["order"][0] == concept_two
    assert weighed["deletion"]["auc_important_first"] < weighed["deletion"]["auc_random_order"]


def _atoms(folder: Path) -> list[list[float]]:
    from safetensors.torch import load_file

    return load_file(str(folder / "dictionary.safetensors"))["atoms"].tolist()


@pytest.mark.parametrize("extra, message", [
    (["--concepts", "0"], "--concepts must be positive"),
    (["--k", "7"], "--k must be from 1 to --concepts"),
    (["--held-out", "1"], "--held-out must be from 0 to below 1"),
    (["--samples", "3"], "--samples (3) must be at least --concepts"),
])
def test_bad_settings_get_one_line_and_nothing_written(tmp_path, planted_photos, extra, message):
    out = tmp_path / "out"
    result = subprocess.run(concepts_command(out, planted_photos, *extra), capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not out.exists() or not any(out.iterdir())


def test_nmf_on_a_signed_layer_names_the_sae(tmp_path, photo_folder):
    result = cli("concepts", "efficientnet-lite0", "block8", "--photos",
                             str(photo_folder), "--out", str(tmp_path / "out"),
                            timeout=300)
    assert result.returncode == 2 and "--method sae" in result.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_folder_of_other_settings_names_both_values(planted_run, planted_photos):
    result = subprocess.run(concepts_command(planted_run, planted_photos, "--method", "sae"), capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 2 and 'method: "nmf" in the folder, "sae" now' in result.stderr


def test_token_layers_give_their_patch_tokens(tmp_path, photo_folder):
    from token_nets import PatchTransformer

    model = convscope.models.wrap(PatchTransformer(extra_tokens=2), input_size=64, name="tokens")
    shards = collect_vectors(model, "blocks.0", PhotoFolder(photo_folder, workers=0), tmp_path, VectorDraw(100))
    assert shards.map_size == (4, 4) and shards.channels == 32


@pytest.fixture(scope="module")
def real_run(photo_folder, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("real") / "concepts"
    result = cli("concepts", "efficientnet-lite0", "head", "--photos",
                             str(photo_folder), "--out", str(out), "--concepts", "8", "--k", "4", "--samples", "400",
                             "--held-out", "0.25", "--epochs", "20", "--steps", "8", "--size", "64",
                             "--classes", "Egyptian cat", "--workers", "0", "--json", timeout=600)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["measures"]["explained_variance"] > data["units_baseline"]["explained_variance"] - 1
    return out


def test_the_real_network_runs_end_to_end(real_run):
    record = json.loads((real_run / "concepts.json").read_text())
    assert len(record["concepts"]) == 8 and record["held_out_photos"] == 3
    assert 0 <= record["measures"]["stability"] <= 1 and record["measures"]["l0"] > 0
    for concept in record["concepts"]:
        assert (real_run / "concepts" / f"{concept['name']}.png").is_file()
        assert len(concept["classes"]) == 5


def test_explain_with_concepts_shows_the_strongest(real_run, photo_folder, tmp_path):
    result = cli("explain", str(photo_folder / "chelsea.jpg"),
                             "--concepts", str(real_run), "--out", str(tmp_path / "e"), "--json", timeout=300)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert (tmp_path / "e" / "concepts.png").is_file() and data["layer"] == "head"
    means = [c["mean_code"] for c in data["concepts"]]
    assert means == sorted(means, reverse=True) and means[0] > 0


def test_the_page_loads_in_a_real_browser(real_run, chromium):
    driver = chromium
    all_loaded = ("return Array.from(document.images).every(i => i.complete && i.naturalWidth > 0) "
                  "&& document.images.length")
    for page, images in (("index.html", 16), ("concepts/c000.html", 3)):
        driver.get((real_run / page).as_uri())
        deadline = time.time() + 30
        while not driver.execute_script(all_loaded) and time.time() < deadline:
            time.sleep(0.2)
        assert driver.execute_script(all_loaded) >= images
    driver.get((real_run / "index.html").as_uri())
    driver.execute_script("const s = document.getElementById('sort'); s.value = 'energy'; "
                          "s.dispatchEvent(new Event('change'));")
    energies = driver.execute_script("return Array.from(document.querySelectorAll('.card')).map(c => +c.dataset.energy)")
    assert energies == sorted(energies, reverse=True)
    assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []
    assert os.path.exists(real_run / "dictionary.safetensors")


class SphericalKMeans(ConceptDictionary):
    """A test-only dictionary method: unit centroids by spherical k-means; a vector's code is its
    projection on its nearest centroid."""

    method = "test-kmeans"
    about = "spherical k-means (a method of the tests)"

    @classmethod
    def fit(cls, source, training, checkpoint=None, progress=None) -> ConceptDictionary:
        vectors = torch.cat(list(source.minibatches(4096, 0, training.seed)))
        atoms = vectors[torch.randperm(len(vectors), generator=torch.Generator().manual_seed(training.seed))
                        [:training.concepts]]
        for _ in range(10):
            atoms = torch.nn.functional.normalize(atoms, dim=1)
            nearest = (vectors @ atoms.T).argmax(dim=1)
            atoms = torch.stack([vectors[nearest == i].sum(dim=0) if (nearest == i).any() else atoms[i]
                                 for i in range(len(atoms))])
        return cls(torch.nn.functional.normalize(atoms, dim=1), torch.zeros(vectors.shape[1]))

    def encode(self, vectors: torch.Tensor) -> torch.Tensor:
        projections = vectors.float() @ self.atoms.T
        best = projections.argmax(dim=1, keepdim=True)
        return torch.zeros_like(projections).scatter_(1, best, projections.gather(1, best).relu())


@pytest.fixture
def kmeans_method():
    dictionary_method(SphericalKMeans)
    yield SphericalKMeans
    forget_method(SphericalKMeans.method)


def test_a_new_dictionary_method_is_one_class(kmeans_method, planted_photos, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["concepts", "--help"])
    shown = " ".join(capsys.readouterr().out.split())  # the help as one line, whatever argparse's wrapping
    assert "{nmf,sae,test-kmeans}" in shown and "test-kmeans: spherical k-means" in shown
    out = tmp_path / "kmeans"
    found = convscope.concepts(make_model(), "mix", planted_photos, out, method="test-kmeans", concepts=6, k=1,
                               samples=3000, epochs=1, recipe=convscope.get_recipe("lucid", steps=4, size=64),
                               workers=0, photo_batch=8, judge="efficientnet-lite0", trials=4)
    assert json.loads((out / "concepts.json").read_text())["settings"]["method"] == "test-kmeans"
    loaded, _meta = ConceptDictionary.load(out / "dictionary.safetensors")
    assert isinstance(loaded, SphericalKMeans) and torch.equal(loaded.atoms, found.dictionary.atoms)
    assert matched_cosines(directions(), loaded.atoms).mean() > 0.8
