"""Circuits: a network built here with known wiring gets the circuit it was built with;
integrated gradients add up on the real network; the object, the JSON and the page agree; bad
input gets one line and writes nothing."""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import convscope
from convscope.cli import main
from convscope.models.user import wrap
from helpers import refused

A, B, D = 0, 1, 2  # the first layer's planted detectors: red, green, blue
C = 0  # the second layer's unit built as ReLU(A + B - D)


class Planted(nn.Module):
    """Two layers of 1x1 convolutions with known weights: ``first`` detects red (A), green (B),
    blue (D) and three mixtures; unit C of ``second`` is ReLU(A + B - D), its other units mix
    the fillers."""

    def __init__(self) -> None:
        super().__init__()
        self.first = nn.Conv2d(3, 6, 1)
        self.first_act = nn.ReLU()
        self.second = nn.Conv2d(6, 4, 1)
        self.second_act = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flat = nn.Flatten()
        self.fc = nn.Linear(4, 3)
        with torch.no_grad():
            self.first.weight.copy_(torch.tensor([[2.0, -1, -1], [-1, 2, -1], [-1, -1, 2], [0.5, 0.5, 0.5],
                                                  [1, 0, 1], [0, 1, 1]]).view(6, 3, 1, 1))
            self.first.bias.copy_(torch.tensor([-0.5, -0.5, -0.5, -0.6, -0.8, -0.8]))
            weights = torch.zeros(4, 6)
            weights[C, [A, B, D]] = torch.tensor([1.0, 1.0, -1.0])
            weights[1:, 3:] = torch.tensor([[1.0, 0.5, 0.2], [0.3, 1.0, 0.4], [0.6, 0.1, 1.0]])
            self.second.weight.copy_(weights.view(4, 6, 1, 1))
            self.second.bias.zero_()
            self.fc.weight.copy_(torch.eye(3, 4))
            self.fc.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.second_act(self.second(self.first_act(self.first(x))))
        return self.fc(self.flat(self.pool(x)))


def planted_photos(folder: Path, count: int = 48, seed: int = 0) -> Path:
    """Photos of coloured squares on gray noise: red, green, yellow (red and green), blue and white."""
    rng = np.random.default_rng(seed)
    colours = [(230, 20, 20), (20, 230, 20), (230, 230, 20), (20, 20, 230), (230, 230, 230)]
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        pixels = rng.integers(60, 110, size=(32, 32, 3)).astype(np.uint8)
        for _ in range(int(rng.integers(1, 4))):
            y, x, side = int(rng.integers(0, 20)), int(rng.integers(0, 20)), int(rng.integers(6, 13))
            pixels[y:y + side, x:x + side] = colours[int(rng.integers(len(colours)))]
        Image.fromarray(pixels).save(folder / f"photo{i:02d}.png")
    return folder


@pytest.fixture(scope="module")
def planted():
    torch.manual_seed(0)
    return wrap(Planted(), input_size=32, min_size=8, name="planted")


@pytest.fixture(scope="module")
def planted_folder(tmp_path_factory) -> Path:
    return planted_photos(tmp_path_factory.mktemp("planted"))


@pytest.mark.fast
def test_the_planted_circuit_is_found_and_its_ablation_explains_it(planted, planted_folder):
    circuit = convscope.circuit(planted, f"second_act:{C}", photos=planted_folder, from_layer="first_act", top=3,
                                photos_top=8, steps=2, size=32, progress=False)
    root = circuit.root_node
    assert root.input_layer == "first_act"
    inputs = {i.unit: i for i in root.inputs}
    assert [i.unit for i in root.inputs[:2]] in ([A, B], [B, A])  # A and B build C, strongest first
    assert inputs[A].sign == inputs[B].sign == "excites"
    assert D in inputs and inputs[D].sign == "inhibits" and inputs[D].gradient < 0
    assert all(abs(inputs[u].gradient) < 1e-6 for u in inputs if u not in (A, B, D))  # C reads nothing else
    assert root.completeness_error < 0.01
    ablation = root.ablation
    assert ablation.shares[1] > 0.8  # ablating A and B removes most of C
    assert ablation.area > ablation.random_area + 0.2  # random orders remove less
    assert len(ablation.random_shares) == 10


@pytest.mark.fast
def test_gradient_x_activation_ranks_the_same_inputs(planted, planted_folder):
    circuit = convscope.circuit(planted, f"second_act:{C}", photos=planted_folder, from_layer="first_act", top=2,
                                photos_top=8, method="gradient-x-activation", steps=2, size=32, progress=False)
    assert {i.unit for i in circuit.root_node.inputs[:2]} == {A, B}


def test_completeness_on_the_real_network_with_the_default_steps(model, photo_folder):
    for target in ("block8:3", "head:7", "logits:tabby", "block8:3 - 0.5*block8:5"):
        circuit = convscope.circuit(model, target, photos=photo_folder, photos_top=2, top=1, steps=1, size=32,
                                    progress=False)
        assert circuit.root_node.completeness_error < 0.05, target


def page_numbers(page: str) -> list[str]:
    return re.findall(r"attribution ([+-]\d+\.\d{4})", page)


def test_the_object_the_json_and_the_page_agree(planted, planted_folder, tmp_path, capsys):
    out = tmp_path / "circuit"
    assert main(["circuit", "tests/test_circuit.py:planted_model", f"second_act:{C}", "--photos", str(planted_folder),
                 "--from", "first_act", "--top", "3", "--photos-top", "8", "--steps", "2", "--size", "32",
                 "--depth", "2", "--out", str(out), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    written = json.loads((out / "circuit.json").read_text())
    assert {k: v for k, v in printed.items() if k not in ("out", "page", "circuit_json")} == written
    again = convscope.circuit(planted, f"second_act:{C}", photos=planted_folder, from_layer="first_act", top=3,
                              photos_top=8, steps=2, size=32, depth=2, progress=False)
    timeless = {k: v for k, v in written.items() if k != "seconds"}
    assert {k: v for k, v in json.loads(json.dumps(again.to_json())).items() if k != "seconds"} == timeless  # same seed
    page = (out / "index.html").read_text()
    shown = [f"{i.attribution:+.4f}" for n in again.nodes for i in n.inputs]
    assert page_numbers(page) == shown
    assert "<svg" in page and "http" not in page  # the graph, drawn offline
    for src in re.findall(r'(?:src|href)="([^"#]+)"', page):
        assert (out / src).is_file(), src
    html = again._repr_html_()
    assert "first_act:0" in html and "completeness error" in html


def test_a_real_browser_shows_the_page_with_its_graph(planted, planted_folder, tmp_path, chromium):
    out = tmp_path / "circuit"
    convscope.circuit(planted, f"second_act:{C}", photos=planted_folder, from_layer="first_act", top=3, photos_top=8,
                      steps=2, size=32, depth=2, out=out, progress=False)
    driver = chromium
    driver.get((out / "index.html").as_uri())
    all_loaded = ("return Array.from(document.images).every(i => i.complete && i.naturalWidth > 0) "
                  "&& document.images.length")
    deadline = time.time() + 30
    while not driver.execute_script(all_loaded) and time.time() < deadline:
        time.sleep(0.2)
    page = (out / "index.html").read_text()
    assert driver.execute_script(all_loaded) == page.count("<img ")  # every picture loaded
    assert driver.execute_script("return document.querySelectorAll('svg image').length") == page.count("<image ") >= 3
    box = driver.execute_script("return document.querySelector('svg').getBoundingClientRect().width")
    assert 0 < box <= 1100  # the graph fits the window
    assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []


def planted_model():
    """The planted network, for the command line (tests/test_circuit.py:planted_model)."""
    return wrap(Planted(), input_size=32, min_size=8, name="planted")


@pytest.mark.fast
@pytest.mark.parametrize("argv, match", [
    (["block8:3", "--from", "block9"], "at or after the target's layer"),
    (["block8:3", "--from", "block8"], "at or after the target's layer"),
    (["block8:999"], "out of range"),
    (["blok8:3"], "unknown layer"),
    (["logits:no-such-class"], "unknown class"),
    (["block8:3", "--top", "0"], "--top must be positive"),
    (["block8:3", "--depth", "5"], "--depth must be at most 4"),
    (["block8:3", "--random-orders", "3"], "--random-orders must be 10 or more"),
    (["block8:3", "--photos-top", "500"], "fewer than the 500 top photos"),
    (["stem:1"], "first layer"),
    (["block8:3 + tv()"], "image penalties"),
])
def test_bad_circuit_input_gets_one_line_and_writes_nothing(argv, match, photo_folder, tmp_path, capsys):
    out = tmp_path / "out"
    refused(capsys, "circuit", "efficientnet-lite0", *argv, "--photos", str(photo_folder), "--out", str(out),
            match=match)
    assert not out.exists()


@pytest.mark.fast
def test_a_folder_without_concepts_as_target_is_refused_in_one_line(photo_folder, tmp_path, capsys):
    folder = tmp_path / "concepts"
    folder.mkdir()
    refused(capsys, "circuit", "efficientnet-lite0", f"{folder}:c012", "--photos", str(photo_folder), "--out",
            str(tmp_path / "out"), match="holds no finished concepts")


def test_atlas_unit_pages_show_what_builds_a_unit_and_what_it_feeds(planted, planted_folder, tmp_path):
    out = tmp_path / "atlas"
    recipe = convscope.get_recipe("lucid", steps=2, size=32)
    no_trust = 1000  # trials 48 photos cannot hold: the atlas leaves out the trust measures, which are not checked here
    read: list[tuple[int, int]] = []
    summary = convscope.atlas(planted, out, layers=("first", "second"), photos=str(planted_folder), recipe=recipe,
                              trials=no_trust, circuits=True, progress=False,
                              photos_progress=lambda done, total: read.append((done, total)))
    assert read[0] == (0, 48) and read.count((48, 48)) == 2  # each layer's photos, read once
    record = next(u for layer in summary.record.layers for u in layer.units if u.layer == "second" and u.channel == C)
    circuit = record.circuit
    assert circuit["input_layer"] == "first"
    assert {i["unit"] for i in circuit["inputs"][:2]} == {A, B}
    assert circuit["top_share"] > circuit["random_share"]
    page = (out / "units" / "second" / f"{C:04d}.html").read_text()
    assert "Built from first" in page and 'href="../first/0000.html"' in page and 'href="../first/0001.html"' in page
    for target in re.findall(r'(?:href|src)="([^"#]+)"', page):
        assert (out / "units" / "second" / target).resolve().is_file(), target
    first = next(u for layer in summary.record.layers for u in layer.units if u.layer == "first" and u.channel == A)
    assert first.circuit is None  # the first layer has nothing before it
    skipped = convscope.atlas(planted, tmp_path / "plain", layers=("second",), photos=str(planted_folder),
                              recipe=recipe, trials=no_trust, progress=False)
    assert all(u.circuit is None for layer in skipped.record.layers for u in layer.units)


def learn(model, layer: str, photos: Path, out: Path, concepts: int, circuits: bool = False,
          method: str = "nmf") -> Path:
    """A small dictionary of ``layer`` in ``out`` (the model judges its own pictures)."""
    convscope.concepts(model, layer, photos, out, concepts=concepts, k=2, samples=3000, epochs=30, method=method,
                       recipe=convscope.get_recipe("lucid", steps=4, size=32), workers=0, photo_batch=8,
                       judge=model, circuits=circuits, progress=False)
    return out


@pytest.fixture(scope="module")
def first_concepts(planted, planted_folder, tmp_path_factory) -> Path:
    return learn(planted, "first_act", planted_folder, tmp_path_factory.mktemp("concepts") / "first-concepts", 6)


@pytest.fixture(scope="module")
def second_concepts(planted, planted_folder, tmp_path_factory) -> Path:
    return learn(planted, "second", planted_folder, tmp_path_factory.mktemp("concepts") / "second-concepts", 3,
                 circuits=True, method="sae")


def _atom_channel(folder: Path, concept: int) -> int:
    from convscope.methods.concepts.folder import ConceptFolder

    return int(ConceptFolder.open(folder, wrap(Planted(), input_size=32, min_size=8, name="planted"))
               .dictionary.atoms[concept].argmax())


def test_a_unit_built_from_concepts_gets_the_concepts_of_its_planted_inputs(planted, planted_folder,
                                                                           first_concepts, tmp_path):
    out = tmp_path / "circuit"
    built = convscope.circuit(planted, f"second:{C}", photos=planted_folder, from_concepts=str(first_concepts),
                              out=out, top=3, progress=False)
    root = built.root_node
    assert root.concepts == "first-concepts" and root.input_layer == "first_act"
    assert root.completeness_error < 0.05, root.completeness_error  # the concepts and the rest add up
    positive = [i for i in root.inputs if i.attribution > 0][:2]
    assert {_atom_channel(first_concepts, i.unit) for i in positive} == {A, B}
    assert root.ablation.top_share > root.ablation.random_mean[-1] and root.ablation.top_share > 0.8
    page = (out / "index.html").read_text()
    assert "Built from the concepts first-concepts of first_act" in page and "first-concepts:c00" in page
    for target in re.findall(r'(?:href|src)="([^"#]+)"', page):
        assert (out / target).is_file(), target
    data = json.loads((out / "circuit.json").read_text())
    assert data["nodes"][0]["inputs"][0]["name"] == root.input_key(root.inputs[0].unit)


def test_a_concept_is_a_target_and_concepts_build_concepts(planted, planted_folder, first_concepts, second_concepts,
                                                          tmp_path):
    target = f"{second_concepts}:c000"
    by_units = convscope.circuit(planted, target, photos=planted_folder, out=tmp_path / "units", progress=False)
    root = by_units.root_node
    assert root.key == "second-concepts:c000" and root.concepts is None
    assert root.input_layer in ("first", "first_act", "second")
    assert root.completeness_error < 0.05 and (tmp_path / "units" / "pictures" / "second-concepts_c000.png").is_file()
    by_concepts = convscope.circuit(planted, target, photos=planted_folder, from_concepts=str(first_concepts),
                                    out=tmp_path / "concepts", progress=False)
    edges = by_concepts.edges
    assert all(e["from"].startswith("first-concepts:c") and e["to"] == "second-concepts:c000" for e in edges)
    assert by_concepts.root_node.completeness_error < 0.05


@pytest.mark.fast
def test_bad_concept_circuits_get_one_line(planted_folder, first_concepts, second_concepts, tmp_path, capsys):
    model = "tests/test_circuit.py:planted_model"
    out = tmp_path / "out"
    refused(capsys, "circuit", model, f"{first_concepts}:c000", "--from-concepts", str(second_concepts),
            "--photos", str(planted_folder), "--out", str(out), match="at or after the target's layer")
    refused(capsys, "circuit", model, f"{second_concepts}:c099", "--photos", str(planted_folder), "--out", str(out),
            match="is not a concept of")
    refused(capsys, "circuit", "efficientnet-lite0", f"{second_concepts}:c000", "--photos", str(planted_folder),
            "--out", str(out), match="are of planted, not efficientnet-lite0")
    refused(capsys, "circuit", model, f"second:{C}", "--from-concepts", str(first_concepts), "--from", "second",
            "--photos", str(planted_folder), "--out", str(out), match="are of first_act, not second")
    assert not out.exists()


def test_concept_pages_show_what_builds_each_concept(second_concepts):
    """The concept of second (a sparse autoencoder's) that points most at unit C is built from the
    planted red and green detectors (A and B), as unit C is."""
    concepts = json.loads((second_concepts / "concepts.json").read_text())["concepts"]
    # 8 steps of integrated gradients on the planted thresholds leave an error of up to about 0.16
    assert all(c["circuit"]["photos"] == 8 and c["circuit"]["completeness_error"] < 0.25 for c in concepts)
    atoms = [_atom_channel(second_concepts, c["index"]) for c in concepts]
    own = concepts[atoms.index(C)]["circuit"] if C in atoms else None
    assert own is not None, atoms
    assert {i["unit"] for i in own["inputs"][:2]} == {A, B} and own["top_share"] > own["random_share"]
    page = (second_concepts / "concepts" / f"{concepts[atoms.index(C)]['name']}.html").read_text()
    assert f"Built from {own['input_layer']}" in page
    assert len(own["classes"]) == 3 and "Classes that fall most" in page  # what it feeds: the logits, here


def test_the_top_photos_come_from_an_exemplars_folder_when_one_is_given(planted, planted_folder, tmp_path, capsys):
    """An exemplars pass over another folder gives the target's top photos; the baseline still
    comes from --photos."""
    other = planted_photos(tmp_path / "other", count=40, seed=7)
    found = tmp_path / "exemplars"
    convscope.exemplars(planted, other, found, layers=["second"], progress=False, workers=0)
    built = convscope.circuit(planted, f"second:{C}", photos=planted_folder, exemplars=str(found), progress=False)
    root = built.root_node
    index = json.loads((found / "exemplars.json").read_text())
    assert len(root.photos) == index["top"] and set(root.photos) <= set(index["files"])
    assert root.photos[0] != built.settings["target"] and built.settings["exemplars"] == str(found)
    assert {i.unit for i in root.inputs[:2]} == {A, B}
    refused(capsys, "circuit", "tests/test_circuit.py:planted_model", "first:0", "--exemplars", str(found),
            "--photos", str(planted_folder), "--out", str(tmp_path / "out"), match="is not one of them")
    assert not (tmp_path / "out").exists()


def test_a_concepts_job_with_circuits_reads_its_photos_in_two_passes(planted, planted_folder, tmp_path, monkeypatch):
    """The collection pass and the codes pass; the circuits' usual values come from the codes pass."""
    import convscope.jobs.concepts.codes_pass as codes_pass
    from convscope.data.photo_sources import PhotoFolder

    passes: list[str] = []
    read, batches = PhotoFolder.read, codes_pass.photo_batches

    def folder_read(self, *args, **kwargs):
        passes.append("a folder pass")
        yield from read(self, *args, **kwargs)

    def codes_batches(*args, **kwargs):
        passes.append("the codes pass")
        return batches(*args, **kwargs)

    monkeypatch.setattr(PhotoFolder, "read", folder_read)
    monkeypatch.setattr(codes_pass, "photo_batches", codes_batches)
    out = learn(planted, "second", planted_folder, tmp_path / "second-concepts", 3, circuits=True, method="sae")
    assert passes == ["a folder pass", "the codes pass"]  # the collection, then the codes
    concepts = json.loads((out / "concepts.json").read_text())["concepts"]
    assert all(c["circuit"]["photos"] == 8 and c["circuit"]["input_layer"] == "first" for c in concepts)


def test_concept_pages_built_from_the_concepts_before_open_in_a_browser(planted, planted_folder, first_concepts,
                                                                        tmp_path, chromium):
    """concepts --circuits --circuits-from DIR: each concept's page shows the earlier concepts that
    build it, with their pictures and links to their pages; every picture loads in Chromium, as on
    the page of a circuit built from concepts."""
    out = tmp_path / "second-concepts"
    convscope.concepts(planted, "second", planted_folder, out, concepts=3, k=2, samples=3000, epochs=30,
                       method="sae", recipe=convscope.get_recipe("lucid", steps=4, size=32), workers=0,
                       photo_batch=8, judge=planted, circuits=True, circuits_from=str(first_concepts),
                       progress=False)
    concepts = json.loads((out / "concepts.json").read_text())["concepts"]
    circuit = concepts[0]["circuit"]
    assert Path(circuit["input_concepts"]) == first_concepts.resolve() and circuit["input_layer"] == "first_act"
    assert all(re.fullmatch(r"c\d{3}", i["name"]) for i in circuit["inputs"])
    page = out / "concepts" / f"{concepts[0]['name']}.html"
    text = page.read_text()
    assert "Built from the concepts first-concepts of first_act" in text
    links = re.findall(r'(?:href|src)="([^"#]+)"', text)
    assert any("first-concepts/concepts/c0" in link for link in links)
    for link in links:
        assert (page.parent / link).resolve().is_file(), link
    circuit_page = tmp_path / "circuit"
    convscope.circuit(planted, f"{out}:c000", photos=planted_folder, from_concepts=str(first_concepts),
                      out=circuit_page, top=3, progress=False)
    loaded = ("return Array.from(document.images).every(i => i.complete && i.naturalWidth > 0) "
              "&& document.images.length")
    for shown in (page, circuit_page / "index.html"):
        chromium.get(shown.as_uri())
        deadline = time.time() + 20
        while not chromium.execute_script(loaded) and time.time() < deadline:
            time.sleep(0.2)
        assert chromium.execute_script(loaded), shown


def test_a_graph_goes_from_concepts_to_the_units_that_build_them(planted, planted_folder, first_concepts, tmp_path):
    """With --from-concepts and --depth 2, the root is built from concepts, and each of its
    strongest concepts from the units of the layer before."""
    out = tmp_path / "graph"
    built = convscope.circuit(planted, f"second:{C}", photos=planted_folder, from_concepts=str(first_concepts),
                              depth=2, expand=2, top=3, out=out, progress=False)
    root, deeper = built.nodes[0], built.nodes[1:]
    assert root.concepts == "first-concepts" and deeper
    assert all(n.key.startswith("first-concepts:c") and n.concepts is None and n.depth == 1 for n in deeper)
    assert {n.key for n in deeper} <= {root.input_key(i.unit) for i in root.inputs}
    assert all(n.input_layer == built.settings["layers"][1] for n in deeper)
    edges = built.edges
    assert any(e["to"].startswith("first-concepts:") and not e["from"].startswith("first-concepts:") for e in edges)
    assert (out / "graph.png").is_file() and all(n.completeness_error < 0.05 for n in built.nodes)
