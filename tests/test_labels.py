"""Labels: a planted network whose unit 3 fires only on two classes under one WordNet parent
gets that parent, a unit that fires at random gets "no label", and the command, its JSON, its
page and the Python object agree; bad input gets one line."""
from __future__ import annotations

import json
from html import escape
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import convscope
from convscope.data.photo_classes import folder_classes
from convscope.methods.labels.hierarchy import candidate_groups
from convscope.methods.labels.result import NO_LABEL, matches
from convscope.methods.labels.scoring import average_ranks
from helpers import assert_one_line_error, cli, distinct_photos
from trust_nets import SIDE, colour_photo, planted_model

# Each class's colour (the planted network's unit k fires on colour k). The two toy dogs share
# colour 3; tabby and soccer ball share colour 0; colour 4 fills half of a photo at random,
# whatever its class.
CLASSES = {"n02085620": 3, "n02085782": 3, "n02123045": 0, "n04254680": 0, "n01440764": 1, "n01443537": 2}
PER_CLASS = 12
PLANTED = "tests/trust_nets.py:planted_model"


def write_class_photos(folder: Path, per_class: int = PER_CLASS, seed: int = 0) -> Path:
    """One subfolder per class of CLASSES, each photo half its class's colour and, for a random
    half of the photos, the other half colour 4 (else the class's colour too)."""
    rng = np.random.default_rng(seed)
    for synset, colour in CLASSES.items():
        (folder / synset).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            photo = colour_photo(colour, rng)
            if rng.random() < 0.5:
                photo[:, SIDE // 2:] = colour_photo(4, rng)[:, SIDE // 2:]
            Image.fromarray(photo).save(folder / synset / f"{i:02d}.png")
    return folder


@pytest.fixture(scope="module")
def class_folder(tmp_path_factory) -> Path:
    return write_class_photos(tmp_path_factory.mktemp("classes"))


@pytest.fixture(scope="module")
def planted_labels(class_folder):
    return convscope.labels(planted_model(), "conv3", photos=class_folder, progress=False)


@pytest.mark.fast
def test_the_two_toy_dogs_unit_is_labelled_by_their_parent(planted_labels):
    labels = planted_labels
    assert labels.source == "subfolders" and labels.photos == 72 and labels.classes == 6
    dogs = labels.unit(3)
    assert dogs.label == "toy dog" and dogs.auc >= 0.95 and dogs.p_value <= 0.01, dogs
    assert set(dogs.classes) == {"Chihuahua", "Japanese spaniel"} and dogs.synsets == ("n02085374",)
    assert "dog" in dogs.broader and "carnivore" in dogs.broader
    shared = labels.unit(0)  # tabby and soccer ball share a colour, and no WordNet group holds just them
    assert shared.label in ("tabby OR soccer ball", "soccer ball OR tabby") and shared.auc >= 0.95, shared
    assert labels.unit(1).label == "tench" and labels.unit(2).label == "goldfish"


@pytest.mark.fast
def test_a_unit_that_fires_at_random_gets_no_label(planted_labels):
    random_unit = planted_labels.unit(4)
    assert random_unit.label == NO_LABEL and not random_unit.labelled
    assert random_unit.p_value > 0.01 or random_unit.auc < 0.75
    assert random_unit.best  # the best candidate is still reported, beside "no label"


@pytest.mark.fast
def test_the_p_value_is_corrected_for_the_labels_tried(class_folder):
    """With the classes shuffled over the photos, no unit of the planted network gets a label
    in 20 shuffles at the 0.01 level more than a chance share allows (here: none)."""
    model = planted_model()
    photos = sorted(class_folder.rglob("*.png"))
    rng = np.random.default_rng(1)
    labelled = 0
    for k in range(4):
        shuffled = class_folder.parent / f"shuffled{k}"
        keys = list(CLASSES) * PER_CLASS
        rng.shuffle(keys)
        for i, (photo, key) in enumerate(zip(photos, keys)):
            (shuffled / key).mkdir(parents=True, exist_ok=True)
            (shuffled / key / f"{i:03d}.png").symlink_to(photo)
        labels = convscope.labels(model, "conv3", photos=shuffled, progress=False, permutations=200)
        labelled += sum(u.labelled for u in labels.units)
    assert labelled == 0


@pytest.mark.fast
def test_ranks_groups_classes_and_search_words():
    assert average_ranks(torch.tensor([3.0, 1.0, 3.0, 2.0])).tolist() == [3.5, 1.0, 3.5, 2.0]
    groups = candidate_groups(["n02085620", "n02085782", "n02123045", "cats"], ["Chihuahua", "Japanese spaniel",
                                                                                 "tabby", "cats"])
    named = {g.name: g.classes for g in groups}
    assert named["toy dog"] == (0, 1) and named["cats"] == (3,) and "dog" not in named  # same classes: the deepest
    assert folder_classes(["n01440764/a.jpg", "n02085620/b.jpg"]) == ["n01440764", "n02085620"]
    assert folder_classes(["n01440764_tench.JPEG", "n02085620_x.png"]) == ["n01440764", "n02085620"]
    assert folder_classes(["a.jpg", "sub/b.jpg"]) is None
    assert matches("dog", ["toy", "dog"]) and matches("Toy D", ["toy", "dog"]) and not matches("dog", ["hotdog"])


def test_a_union_s_auc_from_the_groups_overlaps_is_that_of_the_union_itself():
    from convscope.methods.labels.hierarchy import Group
    from convscope.methods.labels.labeller import PAIRED, _pair_aucs, _pairs, candidates
    from convscope.methods.labels.scoring import A_IN_B, B_IN_A, DISJOINT, OTHER, auc, class_rank_sums

    generator = torch.Generator().manual_seed(0)
    classes, photos = 24, 240
    members = [tuple(c for c in range(classes) if torch.rand(1, generator=generator) < 0.3) for _ in range(10)]
    members += [members[0][:3], (), tuple(range(12, 24))]  # one held by another, an empty one, one apart from some
    groups = [Group(f"g{i}", None, m) for i, m in enumerate(members) if m]
    found = candidates(groups, [i % classes for i in range(photos)], classes, min_photos=5)
    kinds = set(found.overlaps.kind.flatten().tolist())
    assert {DISJOINT, A_IN_B, B_IN_A, OTHER} <= kinds, kinds
    ranks = torch.stack([average_ranks(torch.randn(photos, generator=generator).round(decimals=1))
                         for _ in range(50)], dim=1)  # ties included
    rank_sums = class_rank_sums(ranks, found.photo_classes, classes)
    sums = found.members @ rank_sums
    top = torch.stack([torch.randperm(len(found.groups), generator=generator)[:PAIRED] for _ in range(50)])
    paired = _pair_aucs(found, top, sums, rank_sums)
    for p in range(50):
        for k, (a, b) in enumerate(_pairs(top[p]).tolist()):
            union = torch.maximum(found.members[a], found.members[b])
            inside = union @ found.counts
            expected = auc(union @ rank_sums[:, p], inside, found.counts.sum()) if photos - inside >= 5 else 0.0
            assert float(paired[p, k]) == float(expected), (p, a, b)  # the same number, to the bit


def test_the_command_its_json_its_page_and_the_python_object_agree(class_folder, planted_labels, tmp_path):
    out = tmp_path / "labels"
    run = cli("labels", PLANTED, "conv3", "--photos", str(class_folder), "--out", str(out), "--json", "--quiet",
              "--search", "dog")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    written = json.loads((out / "labels.json").read_text())
    assert written["units"] == data["units"] == [u.to_json() for u in planted_labels.units]
    assert data["rule"] == written["rule"] and data["source"] == "subfolders"
    assert [u["unit"] for u in data["search"]["units"]] == [3]  # "dog" is above "toy dog"
    page = (out / "index.html").read_text()
    assert "toy dog" in page and 'id="search"' in page and "no label" in page and escape(data["rule"]) in page
    text = cli("labels", PLANTED, "conv3", "--photos", str(class_folder), "--units", "3,4")
    assert text.returncode == 0, text.stderr
    rows = {line.split()[0]: line for line in text.stdout.splitlines() if line.strip().startswith("conv3:")}
    assert rows["conv3:3"].endswith("toy dog") and "no label (best: " in rows["conv3:4"]
    assert "1 of 2 units have a label" in text.stdout


def test_the_network_s_own_classes_label_a_folder_without_subfolders(tmp_path):
    """efficientnet-lite0's top classes of 22 real photos, one per class: a group such as
    'whole' holds enough photos to be tried, and the page names the source."""
    photos = distinct_photos(tmp_path / "photos")
    labels = convscope.labels("efficientnet-lite0", "head", units=range(4), photos=photos, progress=False,
                              min_photos=3, permutations=99)
    assert labels.source == "predictions" and labels.photos == 22 and len(labels.units) == 4
    assert all(0 <= u.auc <= 1 and 1 / 100 <= u.p_value <= 1 for u in labels.units)
    assert escape("network's own top class") in labels._repr_html_()


def test_bad_labels_input_gets_one_line_and_writes_nothing(tmp_path, class_folder):
    few = tmp_path / "few"
    for name in ("apples", "pears", "plums"):
        (few / name).mkdir(parents=True)
        for i in range(2):
            Image.fromarray(colour_photo(i, np.random.default_rng(i))).save(few / name / f"{i}.png")
    out = tmp_path / "out"
    run = cli("labels", PLANTED, "conv3", "--photos", str(few), "--out", str(out))
    assert_one_line_error(run, "needs at least 5 photos")
    flat = tmp_path / "flat"
    flat.mkdir()
    for i in range(6):
        Image.fromarray(colour_photo(i % 5, np.random.default_rng(i))).save(flat / f"{i}.png")
    run = cli("labels", PLANTED, "conv3", "--photos", str(flat), "--out", str(out))
    assert_one_line_error(run, "labels need the photos' classes")
    run = cli("labels", PLANTED, "conv3", "--photos", str(class_folder), "--units", "2-9", "--out", str(out))
    assert_one_line_error(run, "channel 5 is out of range")
    run = cli("labels", PLANTED, "conv3", "--photos", str(class_folder), "--permutations", "10")
    assert_one_line_error(run, "--permutations must be 99 or more")
    assert not out.exists() or not any(out.iterdir())


@pytest.fixture(scope="module")
def planted_atlas(class_folder, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("atlas") / "atlas"
    convscope.atlas(planted_model(), out, layers=["conv3"], photos=class_folder, progress=False,
                    recipe=convscope.get_recipe("lucid", steps=4, size=32), judge=planted_model("judge"))
    return out


def test_the_atlas_shows_the_labels_the_command_gives(planted_atlas, planted_labels):
    atlas = json.loads((planted_atlas / "atlas.json").read_text())
    layer = atlas["layers"][0]
    assert layer["labelled"] == sum(u.labelled for u in planted_labels.units) == 4
    for unit, label in zip(layer["units"], planted_labels.units):
        assert unit["words"] == {**{k: v for k, v in label.to_json().items() if k != "unit"}, "source": "subfolders"}
    page = (planted_atlas / "units" / "conv3" / "0003.html").read_text()
    assert "<b>toy dog</b>: AUC" in page and "Chihuahua" in page and escape(convscope.api.LABEL_RULE) in page
    assert "<b>no label</b>. The best candidate" in (planted_atlas / "units" / "conv3" / "0004.html").read_text()


def test_the_search_boxes_find_units_by_word_in_a_browser(planted_atlas, class_folder, tmp_path, chromium):
    from selenium.webdriver.common.by import By

    def results(page: Path, query: str) -> list[str]:
        chromium.get(page.as_uri())
        box = chromium.find_element(By.ID, "search")
        box.clear()
        box.send_keys(query)
        return [a.text for a in chromium.find_elements(By.CSS_SELECTOR, "#search-results a")]

    index = planted_atlas / "index.html"
    assert results(index, "dog") == ["conv3:3"]  # "dog" is above "toy dog"
    assert results(index, "toy d") == ["conv3:3"] and results(index, "conv3:4") == ["conv3:4"]
    assert results(index, "hotdog") == [] and "nothing matches" in chromium.page_source
    out = tmp_path / "labels"
    convscope.labels(planted_model(), "conv3", photos=class_folder, out=out, progress=False)
    assert results(out / "index.html", "tench") == ["conv3:1"]
    assert not [e for e in chromium.get_log("browser") if e["level"] == "SEVERE"]


def test_concepts_get_labels_on_their_pages_and_in_their_search(class_folder, tmp_path):
    """The planted layer's five colours as concepts: the toy dogs' colour is labelled by their
    parent, the colour that falls at random gets no label."""
    out = tmp_path / "concepts"
    convscope.concepts(planted_model(), "conv2", class_folder, out, concepts=5, k=2, samples=3000, epochs=20,
                       recipe=convscope.get_recipe("lucid", steps=4, size=32), workers=0, photo_batch=8,
                       judge=planted_model("judge"), progress=False)
    concepts = json.loads((out / "concepts.json").read_text())["concepts"]
    labels = sorted(c["words"]["label"] for c in concepts)
    assert labels == sorted(["toy dog", "tench", "goldfish", "tabby OR soccer ball", NO_LABEL]), labels
    dogs = next(c for c in concepts if c["words"]["label"] == "toy dog")
    assert dogs["words"]["auc"] >= 0.95 and dogs["words"]["source"] == "subfolders"
    page = (out / "concepts" / f"{dogs['name']}.html").read_text()
    assert "<b>toy dog</b>: AUC" in page
    index = (out / "index.html").read_text()
    assert 'id="search"' in index and f'"title":"{dogs["name"]}"' in index and "label: toy dog" in index
