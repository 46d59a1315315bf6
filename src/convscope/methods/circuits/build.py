"""``circuit``: how a unit, class or objective is built from the units of earlier layers, how much
of it its strongest inputs explain, and what it feeds.

One streaming pass over the photos finds the target's top photos, the top photos of the units
of the layers a deeper graph expands, and the mean activation of every input layer (the
baseline). Then each node is attributed to its inputs (``attribution``), its strongest inputs
are ablated in order and at random (``ablation``), and with depth, the strongest inputs are
explained in turn from the layer before theirs. Every node gets a picture from the one loop."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import torch

from convscope.data.atlas_folder import atlas_pictures
from convscope.data.exemplar_crops import ExemplarIndex
from convscope.data.objective_photos import ObjectivePhotos, ObjectivePhotosPass
from convscope.data.photo_pass import run_pass
from convscope.data.photo_sources import PHOTO_BATCH, PhotoFolder, PhotosLike, PhotoSource, as_source
from convscope.engine.objectives import unit_objective
from convscope.engine.render import LoopSpec, render
from convscope.errors import ImageInputError, OutOfRangeError
from convscope.io.photo_reading import load_photo
from convscope.io.picture import Picture
from convscope.methods.circuits.ablation import ablate
from convscope.methods.circuits.attribution import Attribution, attribute
from convscope.methods.circuits.concept_inputs import to_concepts
from convscope.methods.circuits.feeds import unit_feeds
from convscope.methods.circuits.replaced import Link
from convscope.methods.circuits.result import Circuit, CircuitInput, CircuitNode
from convscope.methods.circuits.targets import (
    CircuitTarget,
    folder_concept,
    input_layer_for,
    parse_target,
    unit_target,
)
from convscope.methods.circuits.where import around_peaks, peak_positions, where_picture
from convscope.methods.concepts.folder import ConceptFolder
from convscope.methods.specs import CircuitSpec
from convscope.models.base import VisionModel
from convscope.runtime.progress import StageProgress, stage


def layer_chain(model: VisionModel, target: CircuitTarget, spec: CircuitSpec,
                concepts: ConceptFolder | None = None) -> list[str]:
    """The input layer of each depth: the layer of the input ``concepts``, ``from_layer`` (or the
    main layer before the target's), then each time the main layer before the last; shorter where
    the network has no earlier layer.

    Raises:
        OutOfRangeError: ``from_layer`` is not the input concepts' layer.
    """
    given = spec.from_layer
    if concepts is not None:
        if given is not None and model.layer(given).name != model.layer(concepts.layer).name:
            raise OutOfRangeError(f"the concepts in {concepts.root} are of {concepts.layer}, not {given}: leave out "
                                  "{from_layer}, or give concepts of that layer", options=["from_layer"])
        given = concepts.layer
    chain = [input_layer_for(model, target.layer, given)]
    while len(chain) < spec.depth:
        earlier = model.earlier_main_layers(chain[-1])
        if not earlier:
            break
        chain.append(earlier[-1])
    return chain


def _top_photos(run: CircuitRun, target: CircuitTarget, depth: int) -> tuple[PhotoSource, list[int]]:
    """Where the target's top photos are, and their indices there: for a unit of a layer the run's
    exemplars folder holds, its photos of highest mean activation there; else the ``photos_top``
    photos that raise the target most in the run's pass (the root's from the pass's objective, a
    deeper node's, a unit of ``chain[depth - 1]``, from that layer's unit exemplars).

    Raises:
        OutOfRangeError: fewer photos than asked for could be read.
    """
    count = run.spec.photos_top
    exemplars = run.exemplars
    if exemplars is not None and target.unit is not None and target.unit[0] in exemplars.index.layers:
        photos = exemplars.index.layers[target.unit[0]]["mean_photos"][target.unit[1]]
        return exemplars.source, [int(p) for p in photos if int(p) >= 0][:count]
    if depth == 0 or target.pass_index:
        photos = run.kept.best_photos[target.pass_index]
    else:
        assert target.unit is not None
        photos = run.kept.units.results[run.chain[depth - 1]].mean_photos[target.unit[1]]
    chosen = [int(p) for p in photos if int(p) >= 0][:count]
    if len(chosen) < count:
        raise OutOfRangeError(f"only {len(chosen)} photos could be read for the top {count} photos of "
                              f"{target.label}: give a folder of more photos, or a smaller {{photos_top}}",
                              options=["photos_top"])
    return run.source, chosen


@dataclass(frozen=True)
class ExemplarPhotos:
    """An exemplars folder, and its photos as a source to read them from."""

    index: ExemplarIndex
    source: PhotoSource

    @classmethod
    def open(cls, folder: str | Path, model: VisionModel, target: CircuitTarget) -> "ExemplarPhotos":
        """The exemplars in ``folder``, for a unit target of a layer they hold.

        Raises:
            ImageInputError: no finished exemplars of this network there.
            OutOfRangeError: a target that is not a unit, or of a layer the folder does not hold.
        """
        index = ExemplarIndex.open(folder, model)
        if target.unit is None or target.unit[0] not in index.layers:
            held = ", ".join(index.layers)
            raise OutOfRangeError(f"the exemplars in {folder} hold the top photos of the units of {held}; "
                                  f"{target.label} is not one of them: give a unit of those layers, or run exemplars "
                                  "with its layer", options=["exemplars"])
        return cls(index, PhotoFolder(index.root, names=index.record.files))


def _images(model: VisionModel, source: PhotoSource, photos: list[int]) -> torch.Tensor:
    """The photos as the network sees them, (P, 3, S, S) on its device."""
    return torch.cat([source.image(model, p) for p in photos]).to(model.device)


def _where(model: VisionModel, target: CircuitTarget, attribution: Attribution, acts: dict[str, torch.Tensor],
           units: list[int]) -> list[Picture | None]:
    """Each input's map of where it contributes, around the target's peak in ``acts`` (the photos'
    outputs of the layers the target reads), one shared scale."""
    if attribution.contributions.dim() < 4:
        return [None] * len(units)
    peaks, hw = None, None
    if target.unit is not None and model.layer(target.unit[0]).spatial:
        maps = acts[target.unit[0]][:, target.unit[1]].cpu()
        peaks, hw = peak_positions(maps), (maps.shape[-2], maps.shape[-1])
    windows = around_peaks(attribution.contributions[:, units], peaks, hw)
    scale = float(windows.abs().max()) if windows.numel() else 1.0
    return [where_picture(w, scale) for w in windows]


def _usual(kept: ObjectivePhotos, target: CircuitTarget, depth: int, chain: list[str]) -> float:
    """The target's mean over the folder."""
    if depth == 0 or target.pass_index:
        return kept.objective_mean(target.pass_index)
    assert target.unit is not None
    return float(kept.units.results[chain[depth - 1]].running_mean[target.unit[1]])


@dataclass
class CircuitRun:
    """What every node of one circuit shares: the network, the photos and what their pass kept,
    the input layer of each depth, the options, the input concepts (None: units), the time of
    each part so far, and the exemplars folder the units' top photos come from (None: the pass)."""

    model: VisionModel
    source: PhotoSource
    kept: ObjectivePhotos
    chain: list[str]
    spec: CircuitSpec
    concepts: ConceptFolder | None
    seconds: dict[str, float]
    exemplars: ExemplarPhotos | None = None


def _node(run: CircuitRun, target: CircuitTarget, depth: int) -> CircuitNode:
    """One node explained by the units of the layer of its depth (or by the run's concepts of
    it), on its top photos (the time of its attribution and ablation is added to the run's)."""
    model, source, kept, chain, spec, seconds = run.model, run.source, run.kept, run.chain, run.spec, run.seconds
    concepts = run.concepts if depth == 0 else None  # concepts are the first layer of inputs; deeper ones are units
    started = time.perf_counter()
    source, photos = _top_photos(run, target, depth)
    link = Link(model, target.objective, chain[depth])
    images = _images(model, source, photos)
    acts = link.read(images)  # the inputs, the target and, for a unit, where it peaks: one pass
    attribution = attribute(link, images, kept.mean(link.input_layer), method=spec.method, steps=spec.ig_steps,
                            batch=spec.batch, read=link.input_maps(acts))
    if concepts is not None:
        attribution = to_concepts(attribution, concepts)
    seconds["attribution"] += time.perf_counter() - started
    started = time.perf_counter()
    values = attribution.values
    top = min(spec.top, len(values))
    order = values.argsort(descending=True)[:top].tolist()
    lowest = [u for u in values.argsort()[:max(1, top // 2)].tolist() if values[u] < 0 and u not in order]
    shown = [*order, *lowest]
    ablation = ablate(link, images, attribution, order, _usual(kept, target, depth, chain),
                      random_count=spec.random_orders, seed=spec.seed)
    seconds["ablation"] += time.perf_counter() - started
    where = _where(model, target, attribution, acts, shown)
    inputs = [CircuitInput(u, float(values[u]), float(attribution.gradient[u]), w) for u, w in zip(shown, where)]
    return CircuitNode(target.key, target.label, link.input_layer, depth, [source.names[p] for p in photos],
                       float(attribution.target.mean()), float(attribution.at_baseline.mean()),
                       attribution.completeness_error, inputs, ablation,
                       concepts.root.name if concepts is not None else None, attribution.rest)


def _pictures(model: VisionModel, circuit: Circuit, target: CircuitTarget, spec: CircuitSpec,
              progress: StageProgress | None, concepts: ConceptFolder | None = None) -> dict[str, Picture]:
    """A picture of every node, input and fed unit: a concept's from its folder, a unit's from the
    atlas where given, else rendered in one batch."""
    units = {target.key: target.unit} if target.unit is not None else {}
    pictures: dict[str, Picture] = {}
    if target.picture is not None:
        pictures[target.key] = Picture(load_photo(target.picture)[0])
    for node in circuit.nodes:
        if concepts is not None and node.concepts is not None:
            pictures.update({node.input_key(i.unit): Picture(load_photo(concepts.picture_path(i.unit))[0])
                             for i in node.inputs})
        else:
            units.update({node.input_key(i.unit): (node.input_layer, i.unit) for i in node.inputs})
    if circuit.feeds is not None and circuit.feeds.layer is not None:
        units.update({f"{circuit.feeds.layer}:{u['unit']}": (circuit.feeds.layer, u["unit"])
                      for u in circuit.feeds.units})
    if spec.atlas is not None:
        for layer in dict.fromkeys(layer for layer, _ in units.values() if layer != model.logits_layer):
            chosen = {key: unit for key, (lay, unit) in units.items() if lay == layer}
            found = atlas_pictures(spec.atlas, layer, sorted(set(chosen.values())))
            pictures.update({key: found[unit] for key, unit in chosen.items()})
    keys = [key for key in units if key not in pictures]
    objectives = [unit_objective(model, *units[key]) for key in keys]
    seeds = [spec.seed + units[key][1] for key in keys]
    if target.unit is None and target.key not in pictures:
        keys, objectives, seeds = [target.key, *keys], [target.objective, *objectives], [spec.seed, *seeds]
    if keys:
        result = render(model, objectives, spec.resolved, progress=stage("pictures", progress),
                        loop=LoopSpec.of(seeds=seeds, transform_seed=spec.seed))
        pictures.update(zip(keys, result.pictures))
    return pictures


def build_circuit(model: VisionModel, target: str, photos: PhotosLike, spec: CircuitSpec, *,
                  progress: StageProgress | None = None) -> Circuit:
    """How ``target`` is built from the units of an earlier layer, how much of it they explain,
    and what it feeds (``convscope.circuit`` is the door to it).

    Args:
        model: the network.
        target: ``layer:unit`` (``block8:12``), ``logits:NAME`` or ``logits:INDEX`` (a class), or an
            objective in the text form (``block8:12 - 0.5*block8:40``).
        photos: a folder (of any size) or a list of photos: the target's top photos come from it,
            and the baseline is its mean activation.
        spec: the options.
        progress: called with (stage, done, total): "photos" (read, of all), "nodes" (explained, of
            those planned) and "pictures" (unit-steps rendered).
    Returns:
        The circuit; ``jobs.circuit.write_circuit`` writes it as a folder with a page.
    Raises:
        UnknownNameError: an unknown layer or class.
        OutOfRangeError: ``from_layer`` at or after the target's layer, too few photos for ``photos_top``.
        ImageInputError: no photo could be read.
    """
    root = parse_target(model, target)
    concepts = ConceptFolder.open(spec.from_concepts, model) if spec.from_concepts is not None else None
    exemplars = ExemplarPhotos.open(spec.exemplars, model, root) if spec.exemplars is not None else None
    chain = layer_chain(model, root, spec, concepts)
    source = as_source(photos)
    if len(source) < spec.photos_top:
        raise OutOfRangeError(f"the folder has {len(source)} photos, fewer than the {spec.photos_top} top photos "
                              f"asked for: give more photos or a smaller {{photos_top}}", options=["photos_top"])
    fed_layer = root.unit[0] if root.unit is not None and root.unit[0] != model.logits_layer else None
    mean_layers = [*chain, *([fed_layer] if fed_layer is not None else [])]
    expanded_concepts = [folder_concept(model, concepts, k, 1 + k) for k in range(concepts.count)] \
        if concepts is not None and len(chain) > 1 else []
    plan = ObjectivePhotosPass((root.objective, *[t.objective for t in expanded_concepts]),
                               {layer: model.layer(layer).channels for layer in chain[:-1]},
                               {layer: model.layer(layer).channels for layer in mean_layers}, spec.photos_top)
    started = time.perf_counter()
    state = run_pass(model, source, plan, batch=min(spec.batch, PHOTO_BATCH), progress=stage("photos", progress))
    seconds = {"photo_pass": time.perf_counter() - started, "attribution": 0.0, "ablation": 0.0}
    if state.read == 0:
        raise ImageInputError(f"none of the {len(source)} photos could be read: give a folder of PNG or JPEG photos")
    kept: ObjectivePhotos = state.part.kept
    run = CircuitRun(model, source, kept, chain, spec, concepts, seconds, exemplars)
    planned = sum(spec.expand ** d for d in range(len(chain)))
    nodes: list[CircuitNode] = []
    frontier = [root]
    for depth, input_layer in enumerate(chain):
        following: list[CircuitTarget] = []
        for node_target in frontier:
            node = _node(run, node_target, depth)
            nodes.append(node)
            if progress is not None:
                progress("nodes", len(nodes), planned)
            known = {n.key for n in nodes} | {t.key for t in following}
            if depth + 1 == len(chain):
                continue
            strongest = [i for i in node.inputs[:spec.expand] if i.attribution > 0]  # the first of the ablation order
            expanded = [expanded_concepts[i.unit] if node.concepts else unit_target(model, input_layer, i.unit)
                        for i in strongest]
            following += [t for t in expanded if t.key not in known]
        frontier = following
    started = time.perf_counter()
    feeds = None
    if fed_layer is not None:
        assert root.unit is not None
        images = _images(model, *_top_photos(run, root, 0))
        feeds = unit_feeds(model, fed_layer, root.unit[1], images, float(kept.mean(fed_layer)[root.unit[1]]), spec.top)
    settings = {"target": target, "from_layer": chain[0], "from_concepts": spec.from_concepts, "layers": chain,
                "top": spec.top, "depth": spec.depth,
                "expand": spec.expand, "photos_top": spec.photos_top, "method": spec.method,
                "ig_steps": spec.ig_steps, "random_orders": spec.random_orders, "seed": spec.seed,
                "recipe": spec.resolved.name, "steps": spec.resolved.steps,
                "atlas": str(spec.atlas) if spec.atlas is not None else None,
                "exemplars": str(spec.exemplars) if spec.exemplars is not None else None}
    seconds["feeds"] = time.perf_counter() - started
    result = Circuit(model.name, root.key, spec.method, settings, nodes, feeds, photos_read=state.read,
                     seconds=seconds)
    started = time.perf_counter()
    result.pictures = _pictures(model, result, root, spec, progress, concepts)
    seconds["pictures"] = time.perf_counter() - started
    return result
