"""Building an atlas: render every unit of the chosen layers in fixed batches, measure it,
record it, then write the site. Stopped at any moment, the same call resumes.

The batches are rendered by a runner: in this process (the default), or as Ray tasks
(``ray_runner``); either way only this process writes the folder.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Protocol, Sequence

import torch

from convscope.data.atlas_folder import thumbnail, unit_stem
from convscope.data.atlas_record import AtlasLayer, AtlasRecord, ExemplarPhoto, TopPhoto, UnitExemplars, UnitRecord
from convscope.data.exemplar_crops import ExemplarIndex
from convscope.data.joint_pass import run_passes
from convscope.data.photo_means import PhotoMeans
from convscope.data.photo_pass import PhotoPass, ShardRunner
from convscope.data.photo_sources import PHOTO_BATCH, PhotoSource, photo_source
from convscope.data.photo_stats import PhotoStats, layer_stats, stats_pass
from convscope.engine.batch import as_seen
from convscope.engine.objectives import channel, unit_objective
from convscope.engine.recipes import Recipe, get_recipe
from convscope.engine.render import render_units
from convscope.errors import OutOfRangeError
from convscope.io.files import write_json
from convscope.io.notebook import fields_html
from convscope.io.picture import Picture
from convscope.jobs.atlas import measure
from convscope.jobs.atlas.store import CONFIG, GENERATED, AtlasStore, batch_hint
from convscope.jobs.job_folder import JobFolder
from convscope.jobs.specs import AtlasSpec
from convscope.methods.circuits.unit_summary import UnitCircuits
from convscope.methods.fidelity import fidelity, median_of, unit_values
from convscope.methods.kernels import kernel_pictures
from convscope.methods.labels.build import LabelsPlan, labels_of_means, labels_plan
from convscope.methods.labels.result import Labels
from convscope.methods.specs import LabelsSpec
from convscope.methods.trust.assess import TrustMeter, TrustSettings, UnitTrust, trials_for, trust_impossible
from convscope.methods.trust.controls import other_units, starting_noise
from convscope.methods.trust.judge import load_judge
from convscope.methods.trust.plot import path_plot
from convscope.methods.trust.verdict import MIN_OTHER_UNITS, verdict_counts
from convscope.models.base import VisionModel
from convscope.pages.atlas_site import write_site
from convscope.runtime.progress import Progress

AtlasProgress = Callable[[float, int, "int | None"], None]
"""Called with (units done, units in all, workers busy or None); fractions count partly
rendered batches."""


@dataclass(frozen=True)
class BatchJob:
    """Units of one layer that are always rendered together."""

    layer: str
    units: tuple[int, ...]


@dataclass
class LayerContext:
    """What the photos make a layer do, computed once per layer in one streaming pass, and what
    measures its units' trust (None without a photo folder large enough)."""

    stats: PhotoStats
    drive: torch.Tensor | None  # (classes, channels) for the last conv layer
    is_logits: bool
    meter: TrustMeter | None = None
    circuits: UnitCircuits | None = None
    labels: Labels | None = None


@dataclass
class AtlasSummary:
    """What an atlas run left in its folder: ``root/index.html`` and one page per unit, and its
    ``record`` (atlas.json's numbers, typed)."""

    root: Path
    units: int
    rendered: int
    layers: list[str]
    skipped_photos: list[str]
    photos: int
    record: AtlasRecord  # every number of every unit, as atlas.json holds them

    @property
    def present(self) -> int:
        """The units the folder holds now (fewer than ``units`` after a run with ``units``)."""
        return sum(len(layer.units) for layer in self.record.layers)

    def _repr_html_(self) -> str:
        index = self.root / "index.html"
        return fields_html(f"atlas: {index}", {"units": self.units, "in the folder": self.present,
                                                "rendered now": self.rendered,
                                                "layers": ", ".join(self.layers), "photos": self.photos,
                                                "unreadable photos": len(self.skipped_photos)})


class BatchRunner(Protocol):
    """Renders batches somewhere; yields finished batches."""

    precision: str  # the precision the batches render in, on the device that renders them

    def run(self, jobs: Sequence[BatchJob], progress: Callable[[float, int | None], None]
            ) -> Iterator[tuple[BatchJob, list[Picture], list[float]]]: ...

    def close(self) -> None: ...


def default_layers(model: VisionModel, size: int | tuple[int, int]) -> list[str]:
    """The model's main layers (for a user's network: convolutions, blocks and logits, not
    every activation or pooling module), logits included, except those that cannot run at ``size``."""
    hw = (size, size) if isinstance(size, int) else tuple(size)
    return [name for name in model.main_layers
            if name not in model.fixed_size_layers or hw == (model.input_size, model.input_size)]


def unit_batches(channels: int, batch: int) -> list[list[int]]:
    """The fixed batches of a layer: the same units are always rendered together. A last batch
    too small to give each of its units MIN_OTHER_UNITS other units as trust controls joins the
    batch before it (which then holds up to ``batch + MIN_OTHER_UNITS`` units)."""
    batches = [list(range(start, min(start + batch, channels))) for start in range(0, channels, batch)]
    if len(batches) > 1 and len(batches[-1]) <= MIN_OTHER_UNITS:
        last = batches.pop()
        batches[-1] += last
    return batches


def layer_context(model: VisionModel, layer: str, photos: PhotoSource, trust: TrustSettings | None = None,
                  seed: int = 0, circuits: bool = False, labels: LabelsSpec | None = None,
                  progress: Progress | None = None) -> LayerContext:
    """Photo statistics of ``layer`` (each unit's TOP_PHOTOS best photos, and with ``trust`` what
    its measures need), the classes it drives over all the photos if it is the last conv
    layer, with ``trust`` its units' trust meter, with ``circuits`` what measures its units'
    circuits (for a layer with a main layer before it), and with ``labels`` its units' labels
    (None where the photos give too few classes for any label to be tried). The photos are
    read once, for all of them (``progress``: called with (photos read, photos in all))."""
    top, low = (max(measure.TOP_PHOTOS, trust.top_photos), trust.low_photos) if trust else (measure.TOP_PHOTOS, 0)
    passes: dict[str, PhotoPass] = {"stats": stats_pass(model, [layer], top=top, low=low)}
    if layer == model.last_conv_layer and model.labels is not None:
        passes["drive"] = measure.ClassDrivePass(layer)
    if circuits and UnitCircuits.possible(model, layer):
        passes["circuits"] = UnitCircuits.stats_pass(model, layer)
    plan = _labels_plan(model, layer, photos, labels) if labels is not None else None
    if plan is not None:
        passes["labels"] = plan.means
    parts = run_passes(model, photos, passes, batch=PHOTO_BATCH, progress=progress)
    stats = layer_stats(parts["stats"], photos.names)[layer]
    meter = TrustMeter(model, layer, photos, stats, trust, seed) if trust is not None else None
    built = UnitCircuits(model, layer, photos, seed, layer_stats(parts["circuits"], photos.names)) \
        if "circuits" in parts else None
    unit_labels = _labels(model, layer, photos, plan, parts["labels"].kept, labels) \
        if plan is not None and labels is not None else None
    drive = parts["drive"].total if "drive" in parts else None
    return LayerContext(stats, drive, layer == model.logits_layer, meter, built, unit_labels)


def _labels_plan(model: VisionModel, layer: str, photos: PhotoSource, spec: LabelsSpec) -> LabelsPlan | None:
    """How ``layer``'s units are labelled, or None where neither the photos nor the network give classes."""
    try:
        return labels_plan(model, layer, photos.names, spec)
    except OutOfRangeError:
        return None


def _labels(model: VisionModel, layer: str, photos: PhotoSource, plan: LabelsPlan, kept: PhotoMeans,
            spec: LabelsSpec) -> Labels | None:
    """The labels of every unit of ``layer``, or None where the photos give too few photos per
    class for any label to be tried."""
    try:
        return labels_of_means(model, layer, photos.names, plan, kept, spec)
    except OutOfRangeError:
        return None


def batch_trust(meter: TrustMeter, model: VisionModel, recipe: Recipe, seed: int, units: Sequence[int],
                seen: torch.Tensor) -> list[UnitTrust]:
    """The trust of a batch's units, each with its one picture (``seen``: (B, 3, H, W) as the
    network judges them), its starting noise, and the other units of its batch as controls."""
    sets = dict(zip(units, meter.single_sets(seen)))
    noise = meter.single_sets(starting_noise(recipe, model, [seed + u for u in units]))  # unit u starts at seed + u
    return [meter.measure(u, sets[u], n, {o: sets[o] for o in other_units(u, list(units))})
            for u, n in zip(units, noise)]


BatchWatch = Callable[[str, Sequence[int], torch.Tensor], None]
"""Shown each step of a batch's render: (layer, units, the pictures as they stand, (B, 3, H, W)
in [0, 1]); it must not change them."""


def render_batch(model: VisionModel, job: BatchJob, recipe: Recipe, seed: int,
                 progress: Progress | None = None, watch: BatchWatch | None = None) -> tuple[list[Picture], list[float]]:
    """The pictures of a batch's units and the activation each reaches (``watch`` sees them as
    they go, which changes no pixel)."""
    def never_stop(_acts: dict[str, torch.Tensor], images: torch.Tensor) -> bool:
        assert watch is not None
        watch(job.layer, job.units, images)
        return False

    result = render_units(model, job.layer, job.units, recipe, seed=seed, batch=len(job.units), progress=progress,
                          stop=never_stop if watch is not None else None)
    return result.pictures, result.final.tolist()


class LocalRunner:
    """Renders the batches in this process, one after another (``watch``: see ``BatchWatch``)."""

    def __init__(self, model: VisionModel, recipe: Recipe, seed: int, watch: BatchWatch | None = None) -> None:
        self.model, self.recipe, self.seed, self.watch = model, recipe, seed, watch
        self.precision = model.effective_precision

    def run(self, jobs: Sequence[BatchJob], progress: Callable[[float, int | None], None]
            ) -> Iterator[tuple[BatchJob, list[Picture], list[float]]]:
        for job in jobs:
            steps = self.recipe.steps
            pictures, finals = render_batch(self.model, job, self.recipe, self.seed,
                                            lambda done, _total: progress(done / steps, None), self.watch)
            yield job, pictures, finals

    def close(self) -> None:
        """Nothing to release."""


def build_atlas(model: VisionModel, out: str | Path, spec: AtlasSpec, *, progress: AtlasProgress | None = None,
                runner_factory: Callable[[VisionModel, Recipe, int], BatchRunner] | None = None,
                photo_runner: ShardRunner | None = None, photos_progress: Progress | None = None) -> AtlasSummary:
    """Renders and measures every unit of the spec's layers into ``out`` and writes the site
    there; a stopped run continues where it was, with the pixels of a clean run.

    The photos are streamed once per layer, in this process with ``spec.workers`` decoding
    processes, or where ``photo_runner`` reads them. Over a photo folder with enough photos,
    each unit's trust is measured with its one picture as the reference.

    Args:
        model: the network.
        out: the output folder.
        spec: the options.
        progress: called with (units done, units in all, workers busy or None).
        runner_factory: builds what renders the batches (default: this process; see
            ``ray_runner.ray_runner_factory``); the files are the same either way.
        photo_runner: where the photos are read (a ``photo_pass.ShardRunner``, e.g. a Ray
            cluster's; default: in this process; the statistics are the same).
        photos_progress: called with (photos read, photos in all) while a layer's photos are
            read (once per layer, before its first unit is written).
    Returns:
        The folder, its units, and how many were rendered now.
    Raises:
        JobFolderError: ``out`` holds an atlas with other settings (without ``force``), or another
            run is writing it (without ``wait``).
    """
    rec, seed, batch = get_recipe(spec.recipe), spec.seed, spec.batch
    seen = rec.view_hw(model.input_size)  # what the network sees: the picture, or maco's crops of it
    model.check_size(seen)
    names = [model.layer(name).name for name in (spec.layers or default_layers(model, seen))]
    for name in names:
        channel(name, 0).validate(model, seen)
    widest = max(model.layers[n].channels for n in names)
    if spec.units and min(spec.units) >= widest:
        raise OutOfRangeError(f"{{units}} {min(spec.units)} and above are beyond every layer's units (the widest has "
                              f"{widest}, 0..{widest - 1})", options=["units"])
    photos = photo_source(spec.photos, spec.workers, photo_runner)
    trust = TrustSettings(load_judge(spec.judge, model), trials_for(spec.trials, len(photos), 1), references=1,
                          false_positive=spec.false_positive) if spec.photos is not None else None
    if trust is not None and trust_impossible(len(photos), trust) is not None:
        trust = None
    exemplars = ExemplarIndex.open(spec.exemplars, model) if spec.exemplars is not None else None
    total = sum(model.layers[n].channels for n in names)
    runner = (runner_factory or LocalRunner)(model, rec, seed)  # a remote one checks itself here
    config = {"model": model.name, "recipe": rec.as_dict(), "precision": runner.precision,
              "seed": seed, "batch": batch, "layers": names, "photos": len(photos),
              "photos_signature": photos.signature()}
    if exemplars is not None:
        config["exemplars"] = exemplars.signature()
    if trust is not None:
        config["trust"] = trust.as_dict()
    circuits = spec.photos is not None and spec.circuits
    if circuits:
        config["circuits"] = UnitCircuits.settings
    labels = LabelsSpec() if spec.photos is not None else None
    if labels is not None:
        config["labels"] = {"permutations": labels.permutations, "min_photos": labels.min_photos, "seed": labels.seed,
                            "classes": labels.classes}
    try:
        folder = JobFolder(out, config, key_file=CONFIG, wait=spec.wait, replace=spec.force, generated=GENERATED,
                           hint=batch_hint)
        now = {model.layer(name).name for name in spec.render_layers}
        plan = AtlasPlan(names, rec, seed, batch, photos, exemplars, trust, circuits, labels, set(spec.units), now)
        rendered, record = _build(model, folder, plan, runner, progress or (lambda *_: None), photos_progress)
    finally:
        runner.close()
    return AtlasSummary(Path(out), total, rendered, names, photos.skipped, len(photos) - len(photos.skipped), record)


@dataclass(frozen=True)
class AtlasPlan:
    """What an atlas run renders and measures, resolved from its spec: the layers, the recipe,
    seed and batch, the photos, the exemplars folder, the trust settings (None: not measured),
    whether the units' circuits are measured, the labels' settings (None: not measured), and the
    units whose batches and the layers that are rendered now (empty: all)."""

    names: list[str]
    rec: Recipe
    seed: int
    batch: int
    photos: PhotoSource
    exemplars: ExemplarIndex | None
    trust: TrustSettings | None
    circuits: bool
    labels: LabelsSpec | None
    units: set[int]  # render only the batches that hold these units (empty: every batch)
    render_layers: set[str]  # render only these of the layers now (empty: all)


def _build(model: VisionModel, folder: JobFolder, plan: AtlasPlan, runner: BatchRunner,
           report: AtlasProgress, photos_report: Progress | None) -> tuple[int, AtlasRecord]:
    """The job proper, under the folder's lock; returns how many units it rendered, and atlas.json."""
    names, rec, seed, batch, photos = plan.names, plan.rec, plan.seed, plan.batch, plan.photos
    rendered = 0
    with folder:
        store = AtlasStore(folder.root)
        store.remove_partial_files()
        done = sum(store.is_done(n, c) for n in names for c in range(model.layers[n].channels))
        jobs = [BatchJob(n, tuple(units)) for n in names for units in unit_batches(model.layers[n].channels, batch)
                if not all(store.is_done(n, u) for u in units) and (not plan.units or plan.units & set(units))
                and (not plan.render_layers or n in plan.render_layers)]
        total = done + sum(not store.is_done(job.layer, u) for job in jobs for u in job.units)
        report(done, total, None)
        contexts: dict[str, LayerContext] = {}
        kernels: dict[str, list[Picture]] = {}
        for job, pictures, finals in runner.run(jobs, lambda part, busy: report(done + part, total, busy)):
            if job.layer not in contexts:
                contexts[job.layer] = layer_context(model, job.layer, photos, plan.trust, seed, plan.circuits,
                                                    plan.labels, photos_report)
                if model.is_first_conv(job.layer):
                    kernels[job.layer] = kernel_pictures(model, min(pictures[0].size))
            after = model.layers[job.layer].after
            shown = as_seen(rec, model, torch.stack([p.to_tensor() for p in pictures]))
            afters = unit_values(model, job.layer, job.units, shown, after.fn) if after is not None \
                else [None] * len(job.units)
            meter = contexts[job.layer].meter
            trusts = batch_trust(meter, model, rec, seed, job.units, shown) if meter is not None \
                else [None] * len(job.units)
            for unit, picture, activation, value_after, unit_trust in zip(job.units, pictures, finals, afters, trusts):
                if not store.is_done(job.layer, unit):
                    kernel = kernels[job.layer][unit] if job.layer in kernels else None
                    _write_unit(store, model, job.layer, unit,
                                UnitResult(picture, activation, value_after, kernel, unit_trust), contexts[job.layer],
                                photos, plan.exemplars)
                    rendered += 1
                    done += 1
            report(done, total, None)
        atlas = _collect(store, model, names, folder.key, photos.names)
        write_json(store.root / "atlas.json", atlas.to_json())
        write_site(store.root, atlas)
    return rendered, atlas


@dataclass
class UnitResult:
    """What rendering gave for one unit."""

    picture: Picture
    activation: float  # of the optimized image, as the objective reads the layer
    activation_after: float | None  # of the saved picture, after the layer's activation function
    kernel: Picture | None  # the first convolution's kernel
    trust: UnitTrust | None  # its trust measures, with photos enough


def _write_unit(store: AtlasStore, model: VisionModel, layer: str, unit: int, result: UnitResult,
                context: LayerContext, photos: PhotoSource, exemplars: ExemplarIndex | None) -> None:
    """The unit's pictures, then its record (the mark that the unit is finished)."""
    folder = store.unit_dir(layer)
    stem = unit_stem(unit)
    result.picture.save(folder / f"{stem}.png")
    thumbnail(result.picture).save(folder / f"{stem}.thumb.png")
    if result.kernel is not None:
        result.kernel.save(folder / f"{stem}.kernel.png")
    if result.picture.importance is not None:
        result.picture.save(folder / f"{stem}.alpha.png", alpha=True)
    stats = context.stats
    first = model.is_first_conv(layer)  # its picture maximizes the centre neuron: compare with photo peaks
    photo_max = float(stats.best(peak=first)[unit])
    tops = []
    best = stats.read
    for rank, (index, peak, where) in enumerate(zip(best.peak_photos[unit].tolist(), best.peak_values[unit].tolist(),
                                                    best.peak_positions[unit].tolist()), start=1):
        if index < 0:  # fewer photos than places
            break
        position = (int(where[0]), int(where[1]))
        measure.crop_around(photos.image(model, index), position, stats.map_size).save(folder / f"{stem}.top{rank}.png")
        tops.append(TopPhoto(photo=photos.names[index], peak=peak, position=list(position) if stats.map_size else None))
    activation = result.activation
    record = UnitRecord(layer=layer, channel=unit, objective=str(unit_objective(model, layer, unit)),
                        activation=activation, photo_max=photo_max, ratio=fidelity(activation, photo_max),
                        top_photos=tops)
    after = model.layers[layer].after
    if after is not None:
        top_after = float(stats.best(peak=first, after=True)[unit])
        record.after, record.activation_after = after.name, result.activation_after
        record.photo_max_after, record.ratio_after = top_after, fidelity(result.activation_after, top_after)
    if result.kernel is not None:
        record.kernel = True
    if result.picture.importance is not None:
        record.importance = result.picture.importance_summary()
    if context.is_logits and model.labels is not None:
        record.class_name = model.class_name(unit)
    if context.drive is not None:
        record.drives = measure.top_classes(model, context.drive, unit)
    unit_trust = result.trust
    if unit_trust is not None:
        record.verdict = unit_trust.verdict.verdict
        record.path_score, record.choice_pictures = unit_trust.path_score, unit_trust.choice_pictures.score
        record.choice_photos, record.trust = unit_trust.choice_photos.score, unit_trust.as_dict()
        if unit_trust.path is not None:
            path_plot(f"{layer}:{unit}", unit_trust.path, unit_trust.noise.path).save(folder / f"{stem}.path.png")
    if context.circuits is not None:
        record.circuit = context.circuits.measure(unit)
    if context.labels is not None:
        words = context.labels.unit(unit).to_json()
        del words["unit"]
        record.words = {**words, "source": context.labels.source}
    if exemplars is not None and layer in exemplars.layers:
        exemplars.sheet(model, layer, unit).save(folder / f"{stem}.exemplars.png")
        arrays = exemplars.layers[layer]
        record.exemplars = UnitExemplars(photos=[ExemplarPhoto(**top) for top in exemplars.top_photos(layer, unit)],
                                         dataset_photos=len(exemplars.record.files),
                                         best_mean=float(arrays["mean_values"][unit, 0]),
                                         mean=float(arrays["running_mean"][unit]))
    store.write_record(layer, unit, record)


def _collect(store: AtlasStore, model: VisionModel, names: Sequence[str], config: dict,
             photo_names: Sequence[str]) -> AtlasRecord:
    """atlas.json: every number of every unit, layer by layer."""
    layers = []
    for name in names:
        info = model.layers[name]
        units = [store.read_record(name, c) for c in range(info.channels) if store.is_done(name, c)]
        entry = AtlasLayer(name=name, kind=info.kind, channels=info.channels, shape=list(info.shape),
                           median_ratio=median_of(u.ratio for u in units), units=units)
        if "trust" in config:
            entry.median_path_score = median_of(u.path_score for u in units)
            entry.median_choice_pictures = median_of(u.choice_pictures for u in units)
            entry.verdicts = verdict_counts(u.verdict for u in units)
        if any(u.words for u in units):
            entry.labelled = sum(bool(u.words and u.words["labelled"]) for u in units)
        if info.after is not None:
            entry.read = f"before {info.after.name}"
            entry.median_ratio_after = median_of(u.ratio_after for u in units)
        layers.append(entry)
    return AtlasRecord(model=model.name, description=model.description, config=config, photos=len(photo_names),
                       layers=layers)
