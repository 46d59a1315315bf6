"""Concepts of a layer, the whole path: the vectors collected from a photo folder, a dictionary
learned from them (and a second, with another seed, for the stability), the codes pass, the
removal effects and class importances, each concept's picture and photos, ``concepts.json``,
``dictionary.safetensors`` and the pages. Each stage keeps its finished work, so the same call
continues after a stop."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import torch

from convscope.data.atlas_record import ExemplarPhoto
from convscope.data.photo_classes import folder_classes
from convscope.data.photo_pass import ShardRunner
from convscope.data.photo_sources import PhotoFolder
from convscope.data.photo_stream import photo_batches, photo_files
from convscope.data.vector_shards import VectorDraw, VectorShards, collect_vectors
from convscope.engine.recipes import get_recipe
from convscope.errors import OutOfRangeError
from convscope.io.files import write_json
from convscope.jobs.concepts.codes_pass import CodesPass, CodesPlan, run_codes_pass
from convscope.jobs.concepts.pictures import render_concepts, write_concept_crops
from convscope.jobs.concepts.trust_step import concept_trust
from convscope.jobs.job_folder import JobFolder
from convscope.jobs.specs import ConceptsSpec
from convscope.methods.circuits.unit_summary import SUMMARY_PHOTOS, ConceptCircuits, UnitCircuits
from convscope.methods.concepts.dictionary import ConceptDictionary
from convscope.methods.concepts.effects import deletion_check, removal_effects, sobol_importance
from convscope.methods.concepts.folder import CONCEPTS_FILE, DICTIONARY_FILE, ConceptFolder, concept_name
from convscope.methods.concepts.measures import dictionary_similarity, stability
from convscope.methods.concepts.record import (
    ClassWeighing,
    ConceptClass,
    ConceptRecord,
    ConceptsRecord,
    DictionaryMeasures,
)
from convscope.methods.concepts.registry import dictionary_methods
from convscope.methods.concepts.schedule import Training
from convscope.methods.labels.build import label_means, photo_classes
from convscope.methods.labels.result import Labels
from convscope.methods.specs import LabelsSpec
from convscope.methods.trust.assess import TrustSettings, trials_for
from convscope.methods.trust.judge import load_judge
from convscope.models.base import VisionModel
from convscope.models.classes import resolve_class
from convscope.models.probe import Probe
from convscope.runtime.progress import StageProgress

VECTORS = "vectors"
TOP_PHOTOS = 6
TOP_CLASSES = 5
EFFECT_PHOTOS = 32
CLASS_PHOTOS = 16
SIGN_PHOTOS = 8  # photos looked at before the pass, to refuse NMF on a signed layer at once


@dataclass
class ConceptsRun:
    """A finished run: its folder, page, dictionary and every number (``record``, as in concepts.json)."""

    out: Path
    index: Path
    dictionary: ConceptDictionary
    record: ConceptsRecord


def learn_concepts(model: VisionModel, layer: str, photos_dir: str | Path, out: str | Path, spec: ConceptsSpec, *,
                   runner: ShardRunner | None = None, progress: StageProgress | None = None) -> ConceptsRun:
    """Learns, measures and shows the concepts of ``layer`` over the photos under ``photos_dir``.

    Args:
        model: the network.
        layer: a layer with positions.
        photos_dir: the photo folder, read with its subfolders.
        out: the output folder.
        spec: the options (the method, its size, the pictures' recipe, the trust measures' judge).
        runner: where the collection pass reads the photos (a ``photo_pass.ShardRunner``, e.g. a
            Ray cluster's; default: in this process; the vectors are the same).
        progress: called with (stage, done, total); the stages are "photos", "training",
            "stability", "codes", "classes", "labels", "circuits" (with ``spec.circuits``), "pictures"
            and "trust".
    Returns:
        The run.
    Raises:
        OutOfRangeError: a setting out of range, or NMF on a layer with negative values.
        JobFolderError: ``out`` holds concepts of other settings, or another run is writing it.
        ImageInputError: an empty or unreadable folder.
    """
    from convscope.pages.concepts_page import write_concepts_pages

    rec = get_recipe(spec.recipe)
    photo_batch, workers = spec.photo_batch, spec.workers
    report = progress or (lambda *_: None)
    info = model.layer(layer)
    if not info.spatial:
        raise OutOfRangeError(f"layer {info.name} has no positions to learn concepts from: choose a conv layer "
                              "(or a token layer)")
    targets = [resolve_class(model, c) for c in spec.classes]
    if targets and model.logits_layer is None:
        raise OutOfRangeError(f"{model.name} has no class scores, so {{classes}} cannot be weighed", options=["classes"])
    out = Path(out)
    files = photo_files(photos_dir)  # an empty or missing folder is refused before anything is written
    trust = TrustSettings(load_judge(spec.judge, model), trials_for(spec.trials, len(files), 1), references=1,
                          false_positive=spec.false_positive)
    if dictionary_methods()[spec.method].non_negative:
        _check_sign(model, info.name, files[:SIGN_PHOTOS])
    key_settings = {"model": model.name, "layer": info.name, **spec.learning(), "classes": targets,
                    "recipe": rec.as_dict(), "precision": model.effective_precision}
    with JobFolder(out, {"job": "concepts", **key_settings}, wait=spec.wait):
        shards = collect_vectors(model, info.name, PhotoFolder(photos_dir, workers, runner=runner), out / VECTORS,
                                 VectorDraw(spec.samples, spec.held_out, spec.seed), batch=photo_batch,
                                 progress=lambda done, total: report("photos", done, total))
        _check_vectors(shards, spec)
        dictionary = _trained(out, shards, spec, spec.seed, model.device,
                              lambda done, total: report("training", done, total))
        twin = _trained(out, shards, spec, spec.seed + 1, model.device,
                        lambda done, total: report("stability", done, total))
        key = hashlib.sha256(json.dumps(key_settings, sort_keys=True).encode()).hexdigest()[:16]
        dictionary.save(out / DICTIONARY_FILE, {"model": model.name, "layer": info.name, "key": key})
        top = max(TOP_PHOTOS, trust.top_photos) if trust is not None else TOP_PHOTOS
        labelling = LabelsSpec(seed=spec.seed)
        predict = folder_classes(shards.files) is None and model.labels is not None
        inputs = ConceptFolder.open(spec.circuits_from, model) if spec.circuits and spec.circuits_from is not None else None
        usual = ConceptCircuits.stats_layers(model, info.name, inputs) \
            if spec.circuits and UnitCircuits.possible(model, info.name) else []
        plan = CodesPlan(k=spec.k, top=top, effect_photos=EFFECT_PHOTOS, classes=targets, class_photos=CLASS_PHOTOS,
                         low=trust.low_photos if trust is not None else 0, predict=predict, usual_layers=tuple(usual))
        gathered = run_codes_pass(model, shards, dictionary, plan, batch=photo_batch, workers=workers, out=out,
                                  progress=lambda done, total: report("codes", done, total))
        classes = _class_records(model, info.name, dictionary, gathered, targets, spec.seed,
                                 lambda done, total: report("classes", done, total))
        labels = _labels(model, info.name, shards, gathered, labelling, lambda done, total: report("labels", done, total))
        circuits = _circuits(ConceptCircuits(model, info.name, dictionary,
                                             PhotoFolder(shards.root, workers, names=shards.files), spec.seed,
                                             gathered.usual, inputs), gathered,
                             lambda done, total: report("circuits", done, total)) if gathered.usual else {}
        activations = render_concepts(model, info.name, dictionary, out, spec, key=key,
                                      progress=lambda done, total: report("pictures", done, total))
        photos = write_concept_crops(model, shards, dictionary, gathered.exemplars, out, TOP_PHOTOS)
        record = ConceptsRecord(settings=key_settings, key=key, photos=len(shards.files),
                                photos_read=len(shards.files) - len(shards.skipped), skipped=shards.skipped,
                                held_out_photos=len(shards.held_out), training_vectors=shards.count,
                                map_size=list(shards.map_size), root=str(shards.root.resolve()),
                                measures=_measures(gathered, dictionary, twin), units_baseline=_baseline(gathered),
                                concepts=_concepts(dictionary, gathered, classes, activations, photos, model.class_name,
                                                   labels, circuits),
                                classes=classes.classes)
        if trust is not None:
            record.trust, measured = concept_trust(model, shards, gathered, rec, out, trust, spec.seed,
                                                   lambda done, total: report("trust", done, total))
            for entry in record.concepts:
                if entry.index in measured:
                    found = measured[entry.index]
                    entry.path_score, entry.choice_pictures = found["path_score"], found["choice_pictures"]["score"]
                    entry.trust = found
        write_json(out / CONCEPTS_FILE, record.to_json())
        index = write_concepts_pages(out, record)
        return ConceptsRun(out, index, dictionary, record)


def _trained(out: Path, shards: VectorShards, spec: ConceptsSpec, seed: int, device: torch.device,
             progress: Callable[[int, int], None]) -> ConceptDictionary:
    """The dictionary trained with ``seed``: read back when a finished one of the same settings is
    there, else trained (continuing from its checkpoint) and kept; the checkpoint is then removed."""
    training = Training(spec.concepts, spec.k, spec.epochs, seed=seed, device=str(device))
    meta = {"vectors": shards.settings, "method": spec.method, "concepts": spec.concepts, "k": spec.k,
            "epochs": spec.epochs, "seed": seed}
    name = out / "training" / f"{spec.method}-seed{seed}"
    final, checkpoint = name.with_suffix(".safetensors"), name.with_suffix(".pt")
    if final.is_file():
        dictionary, saved = ConceptDictionary.load(final)
        if saved.get("trained") == meta:
            return dictionary
    dictionary = dictionary_methods()[spec.method].fit(shards, training, checkpoint, progress)
    dictionary.save(final, {"trained": meta})
    checkpoint.unlink(missing_ok=True)
    return dictionary


def _signed_layer(layer: str, smallest: float) -> OutOfRangeError:
    return OutOfRangeError(f"layer {layer} has negative values (down to {smallest:.3g}) and NMF needs non-negative "
                           "ones: use {method} sae, or a layer after an activation function", options=["method"])


def _check_sign(model: VisionModel, layer: str, files: list[Path]) -> None:
    """Refuses NMF early when the first photos already give the layer negative values."""
    info = model.layer(layer)
    with torch.no_grad(), Probe(model, [info.name]) as probe:
        for part in photo_batches(files, model.input_size, len(files), 0):
            if len(part.indices):
                smallest = float(info.as_used(probe(part.images(model.device))[info.name]).min())
                if smallest < 0:
                    raise _signed_layer(info.name, smallest)


def _check_vectors(shards: VectorShards, spec: ConceptsSpec) -> None:
    if dictionary_methods()[spec.method].non_negative and shards.smallest < 0:
        raise _signed_layer(shards.settings["layer"], shards.smallest)
    if shards.count < spec.concepts:
        raise OutOfRangeError(f"the photos gave {shards.count} training vectors, fewer than the {spec.concepts} "
                              "{concepts}: ask for fewer {concepts}, or give more photos",
                              options=["concepts"])


@dataclass
class ClassEffects:
    """Each concept's removal effect on every class (None without class scores or photos), and
    each asked class weighed."""

    effects: torch.Tensor | None
    classes: list[ClassWeighing]


def _class_records(model: VisionModel, layer: str, dictionary: ConceptDictionary, gathered: CodesPass,
                   targets: Sequence[int], seed: int, progress: Callable[[int, int], None]) -> ClassEffects:
    """The removal effects of every concept (top classes), and each asked class's importance indices
    and deletion check."""
    if model.logits_layer is None or not gathered.effect_photos.photos:
        return ClassEffects(None, [])
    steps = 1 + len(targets)
    progress(0, steps)
    maps, images = gathered.effect_photos.stacked()
    effects = removal_effects(model, layer, dictionary, maps.to(model.device), images.to(model.device))
    progress(1, steps)
    weighed = []
    for n, target in enumerate(targets):
        kept = gathered.class_photos[target]
        entry = ClassWeighing(index=target, name=model.class_name(target), photos=len(kept.photos))
        if kept.photos:
            maps, images = (t.to(model.device) for t in kept.stacked())
            indices = sobol_importance(model, layer, dictionary, maps, images, target, seed=seed)
            order = sorted(range(len(indices)), key=lambda i: (-indices[i], i))
            entry.files, entry.sobol_total, entry.order = kept.photos, indices.tolist(), order
            entry.deletion = deletion_check(model, layer, dictionary, maps, images, target, order, seed=seed)
        weighed.append(entry)
        progress(2 + n, steps)
    return ClassEffects(effects, weighed)


def _measures(gathered: CodesPass, dictionary: ConceptDictionary, twin: ConceptDictionary) -> DictionaryMeasures:
    """The dictionary's measures on the held-out photos, with its atoms' similarity and its
    stability against the twin trained with the next seed."""
    measures = gathered.concepts
    return DictionaryMeasures(explained_variance=measures["explained_variance"], l0=measures["l0"],
                              dead=measures["dead"], dead_concepts=measures["dead_concepts"],
                              dictionary_similarity=dictionary_similarity(dictionary.atoms),
                              stability=stability(dictionary, twin), held_out_vectors=measures["vectors"])


def _baseline(gathered: CodesPass) -> DictionaryMeasures:
    """The same measures of the units baseline (the k largest units kept)."""
    units = gathered.units
    return DictionaryMeasures(explained_variance=units["explained_variance"], l0=units["l0"], dead=units["dead"],
                              dictionary_similarity=0.0, stability=1.0, held_out_vectors=units["vectors"])


def _labels(model: VisionModel, layer: str, shards: VectorShards, gathered: CodesPass, spec: LabelsSpec,
            progress: Callable[[int, int], None]) -> Labels | None:
    """The concepts' labels from each photo's mean code, or None where neither the folder nor the
    network gives classes, or too few photos per class for any label to be tried."""
    assert gathered.photo_means is not None
    given = folder_classes(shards.files)
    if given is None and gathered.predicted is None:
        return None
    classes = photo_classes(model, shards.files, gathered.readable, given, gathered.predicted)
    concepts = list(range(gathered.photo_means.shape[1]))
    try:
        return label_means(model.name, f"{layer} concepts", gathered.photo_means, concepts, classes, spec,
                           progress=progress)
    except OutOfRangeError:
        return None


def _circuits(measurer: ConceptCircuits, gathered: CodesPass, progress: Callable[[int, int], None]) -> dict[int, dict]:
    """Each concept's circuit in brief, on its photos of highest mean code (none where no photo
    was read)."""
    if gathered.photo_means is None or not gathered.readable:
        return {}
    count = min(SUMMARY_PHOTOS, len(gathered.readable))
    concepts = measurer.dictionary.concepts
    found = {}
    for k in range(concepts):
        best = gathered.photo_means[:, k].argsort(descending=True, stable=True)[:count].tolist()
        found[k] = measurer.measure(k, [gathered.readable[i] for i in best])
        progress(k + 1, concepts)
    return found


def _concepts(dictionary: ConceptDictionary, gathered: CodesPass, classes: ClassEffects, activations: dict[int, float],
              photos: list[list[dict]], class_name: Callable[[int], str], labels: Labels | None,
              circuits: dict[int, dict]) -> list[ConceptRecord]:
    """Each concept's record: its measures, picture activation, top photos, the classes it
    drives, its importance for the classes weighed, its label and its circuit in brief."""
    measures = gathered.concepts
    effects = classes.effects
    concepts = []
    for i in range(dictionary.concepts):
        entry = ConceptRecord(index=i, name=concept_name(i), frequency=measures["frequency"][i],
                              energy=measures["energy"][i], activation=activations[i],
                              photos=[ExemplarPhoto(**top) for top in photos[i]])
        if effects is not None:
            falls, which = effects[i].topk(min(TOP_CLASSES, effects.shape[1]))
            entry.classes = [ConceptClass(index=int(c), name=class_name(int(c)), logit_fall=float(f))
                             for f, c in zip(falls, which)]
        if i in circuits:
            entry.circuit = circuits[i]
        if labels is not None:
            words = labels.unit(i).to_json()
            del words["unit"]
            entry.words = {**words, "source": labels.source}
        concepts.append(entry)
    for weighed in classes.classes:
        for i, value in enumerate(weighed.sobol_total or []):
            concepts[i].importance = {**(concepts[i].importance or {}), str(weighed.index): value}
    return concepts
