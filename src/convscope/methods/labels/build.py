"""Labels for the units of one layer (``convscope.labels`` is the door): one streaming pass for
each photo's unit means (and the network's top class when the folder gives no classes), the
candidate groups of the photos' classes, and each unit's search and test."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from convscope.data.joint_pass import run_passes
from convscope.data.photo_classes import folder_classes
from convscope.data.photo_means import PhotoMeans, PhotoMeansPass
from convscope.data.photo_sources import PHOTO_BATCH, PhotosLike, as_source
from convscope.errors import OutOfRangeError
from convscope.methods.labels.hierarchy import ancestors, candidate_groups, imagenet_synset, synset_name
from convscope.methods.labels.labeller import MAX_P, MIN_AUC, Candidates, UnitSearch, candidates, label_units
from convscope.methods.labels.result import NO_LABEL, Labels, UnitLabel
from convscope.methods.specs import LabelsSpec
from convscope.models.base import VisionModel
from convscope.runtime.progress import Progress, StageProgress, stage

IMAGENET_CLASSES = 1000


@dataclass(frozen=True)
class PhotoClasses:
    """Each photo's class (a position in ``keys``), the classes' keys (synsets where known) and
    names, and where they came from (a key of ``result.SOURCES``)."""

    of_photo: list[int]
    keys: list[str]
    names: list[str]
    source: str


def _classes(keys_of_photos: list[str], names_of: dict[str, str], source: str) -> PhotoClasses:
    keys = sorted(set(keys_of_photos))
    position = {key: i for i, key in enumerate(keys)}
    return PhotoClasses([position[k] for k in keys_of_photos], keys, [names_of.get(k, k) for k in keys], source)


def given_classes(model: VisionModel, names: Sequence[str], spec: LabelsSpec) -> list[str] | None:
    """The classes the folder gives its photos (``names``, relative paths), or None where the
    network's top classes are to be used.

    Raises:
        OutOfRangeError: ``spec.classes`` is "folder" and the folder gives none, or neither the
            folder nor the network gives classes.
    """
    given = folder_classes(names) if spec.classes != "predictions" else None
    if spec.classes == "folder" and given is None:
        raise OutOfRangeError("the folder gives no classes: put its photos in one subfolder per class (ImageNet's "
                              "layout, such as n02085620/), or start each file name with its synset "
                              "(n02085620_1.jpg)", options=["classes"])
    if given is None and model.labels is None:
        raise OutOfRangeError(f"labels need the photos' classes: {model.name} has no class names, so put the photos "
                              "in one subfolder per class (ImageNet's synsets such as n02085620 name WordNet's groups)")
    return given


def photo_classes(model: VisionModel, names: Sequence[str], indices: Sequence[int], given: list[str] | None,
                  predicted: torch.Tensor | None) -> PhotoClasses:
    """The classes of the photos read (``indices`` into ``names``): the folder's (``given``, by
    photo, see ``given_classes``), or with ``predicted`` (the network's top class of each, in the
    same order) the network's."""
    if predicted is None:
        assert given is not None
        keys = [given[i] for i in indices]
        origin = "subfolders" if all("/" in names[i] for i in indices) else "file names"
        return _classes(keys, {k: synset_name(k) for k in set(keys)}, origin)
    labels = model.labels or []
    top = predicted.tolist()
    if len(labels) == IMAGENET_CLASSES:
        keys = [imagenet_synset(k) for k in top]
        return _classes(keys, {imagenet_synset(k): labels[k] for k in set(top)}, "predictions")
    return _classes([labels[k] for k in top], {}, "predictions")


def _too_few(classes: PhotoClasses, spec: LabelsSpec) -> OutOfRangeError:
    counts = torch.bincount(torch.tensor(classes.of_photo), minlength=len(classes.keys))
    return OutOfRangeError(
        f"too few photos per class for labels: a class (or a WordNet group of classes) needs at least "
        f"{spec.min_photos} photos in it and {spec.min_photos} outside it, and of these {len(classes.of_photo)} photos "
        f"the largest class has {int(counts.max())}: give at least {spec.min_photos} photos of each of two or more "
        f"classes (or a smaller {{min_photos}})", options=["min_photos"])


def _unit_label(found: Candidates, classes: PhotoClasses, searched: UnitSearch) -> UnitLabel:
    groups = [found.groups[g] for g in searched.groups]
    best = " OR ".join(g.name for g in groups)
    held = searched.auc >= MIN_AUC and searched.p_value <= MAX_P
    names = tuple(dict.fromkeys(classes.names[c] for g in groups for c in g.classes))
    above = [a for g in groups if g.synset is not None for a in sorted(ancestors(g.synset)) if a != g.synset]
    return UnitLabel(searched.unit, best if held else NO_LABEL, best, searched.auc, searched.p_value, names,
                     tuple(g.synset for g in groups), tuple(dict.fromkeys(synset_name(a) for a in above)))


@dataclass(frozen=True)
class LabelsPlan:
    """What labelling a layer's units reads of the photos (``means``: each photo's unit means,
    and its top class where the folder gives none) and the classes the folder gives (None:
    the network's top classes are used)."""

    means: PhotoMeansPass
    given: list[str] | None


def labels_plan(model: VisionModel, layer: str, names: Sequence[str], spec: LabelsSpec) -> LabelsPlan:
    """How the units of ``layer`` are labelled over photos ``names`` (relative paths).

    Raises:
        UnknownNameError: an unknown layer.
        OutOfRangeError: ``spec.classes`` is "folder" and the folder gives none, or neither the
            folder nor the network gives classes.
    """
    info = model.layer(layer)
    given = given_classes(model, names, spec)
    return LabelsPlan(PhotoMeansPass(info.name, info.channels, predict=given is None), given)


def labels_of_means(model: VisionModel, layer: str, names: Sequence[str], plan: LabelsPlan, kept: PhotoMeans,
                    spec: LabelsSpec, *, progress: Progress | None = None) -> Labels:
    """The labels of the units of ``layer`` asked for by ``spec``, from what ``plan``'s pass
    kept of the photos ``names``.

    Raises:
        OutOfRangeError: a unit out of range, or too few photos per class.
    """
    units = spec.units_of(model, layer)
    classes = photo_classes(model, names, kept.indices.tolist(), plan.given, kept.predicted)
    return label_means(model.name, model.layer(layer).name, kept.means[:, units], units, classes, spec,
                       progress=progress)


def build_labels(model: VisionModel, layer: str, photos: PhotosLike, spec: LabelsSpec, *,
                 progress: StageProgress | None = None) -> Labels:
    """The label of each unit of ``layer`` asked for by ``spec``.

    Args:
        model: the network.
        layer: the layer whose units are labelled.
        photos: a folder (of any size; its class subfolders or synset file names give the
            classes) or a list of photos (the network's top classes give them).
        spec: the options.
        progress: called with (stage, done, total): "photos" (read, of all) and "shuffles" (of
            the test, done of all).
    Returns:
        The labels.
    Raises:
        UnknownNameError: an unknown layer.
        OutOfRangeError: a unit out of range, too few photos per class, or classes that neither the folder
            nor the network gives.
        ImageInputError: no photo could be read.
    """
    spec.units_of(model, layer)  # a unit out of range is said before the photos are read
    source = as_source(photos)
    plan = labels_plan(model, layer, source.names, spec)
    part = run_passes(model, source, {"means": plan.means}, batch=min(spec.batch, PHOTO_BATCH),
                      progress=stage("photos", progress))["means"]
    return labels_of_means(model, layer, source.names, plan, part.kept, spec, progress=stage("shuffles", progress))


def label_means(model: str, layer: str, means: torch.Tensor, units: list[int], classes: PhotoClasses,
                spec: LabelsSpec, *, progress: Progress | None = None) -> Labels:
    """The labels of units (or concepts) from each photo's mean activation of them.

    Args:
        model: the network's name.
        layer: what the units belong to (a layer's name, or a name for a dictionary's concepts).
        means: (N, U) each photo's mean activation of each unit, photos in the order of ``classes``.
        units: the units' numbers, by column.
        classes: the photos' classes.
        spec: the options.
        progress: called with (shuffles done, shuffles in all).
    Returns:
        The labels.
    Raises:
        OutOfRangeError: too few photos per class for any label to be tried.
    """
    found = candidates(candidate_groups(classes.keys, classes.names), classes.of_photo, len(classes.keys),
                       spec.min_photos)
    if not found.groups:
        raise _too_few(classes, spec)
    searches = label_units(means, units, found, spec.permutations, spec.seed, progress=progress)
    settings = {"permutations": spec.permutations, "min_photos": spec.min_photos, "seed": spec.seed,
                "classes": spec.classes, "max_p": MAX_P, "min_auc": MIN_AUC}
    return Labels(model, layer, classes.source, len(classes.of_photo), len(classes.keys),
                  len(found.groups) + found.pairs_tried, settings, [_unit_label(found, classes, s) for s in searches])
