"""The API's functions for commands over layers and photo folders (stats, trust, twins,
exemplars, atlas, activation atlas, concepts, spectrum, layers) and ``on_ray``: each builds
its command's spec once and hands it to the job."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from convscope.api.defaults import GPUS_PER_TASK, TRUST_OUT
from convscope.data.photo_pass import ShardRunner
from convscope.data.photo_sources import PhotosLike, as_source
from convscope.data.photo_stream import photo_files
from convscope.engine.spectrum import Spectrum, measure_spectrum
from convscope.engine.spectrum_spec import SpectrumSpec
from convscope.errors import ImageInputError
from convscope.io.builtin_photos import builtin_photos
from convscope.io.photo_reading import readable_photos
from convscope.jobs import activation_atlas as activation_atlas_job
from convscope.jobs.activation_atlas import ActivationAtlasSummary
from convscope.jobs.atlas.builder import AtlasProgress, AtlasSummary, BatchWatch, LocalRunner, build_atlas
from convscope.jobs.atlas.ray_runner import ray_runner_factory
from convscope.jobs.cluster.connect import RayCluster
from convscope.jobs.cluster.photo_shards import RayShards
from convscope.jobs.concepts.job import learn_concepts
from convscope.jobs.concepts.result import Concepts
from convscope.jobs.exemplars import ExemplarRun, run_exemplars
from convscope.jobs.specs import ActivationAtlasSpec, AtlasSpec, ConceptsSpec, ExemplarsSpec, TrustSpec
from convscope.jobs.trust import TrustReport, assess_trust
from convscope.methods.fidelity import UnitFidelity, unit_stats
from convscope.methods.specs import StatsSpec, TwinsSpec
from convscope.methods.twins import TwinReport, add_picture_view, find_twins, twin_pictures
from convscope.models import VisionModel, as_model
from convscope.models.base import Layer
from convscope.runtime.progress import Progress, StageProgress, shows_progress
from convscope.runtime.spec import takes


def layers(model: VisionModel | str) -> list[Layer]:
    """The layers of a network, in the order the forward pass reaches them.

    Args:
        model: a VisionModel or a model's name (see ``convscope.load``).
    Returns:
        Each layer's name, kind, layout, channels and output shape at the input size.
    """
    return list(as_model(model).layers.values())


@shows_progress("stats", "unit-step")
@takes(StatsSpec)
def stats(model: VisionModel | str, layer: str, units: Sequence[int] | None = None, *, photos: PhotosLike = None,
          progress: Progress | None = None, spec: StatsSpec | None = None, **options: Any) -> UnitFidelity:
    """Fidelity: each unit's picture activation over the best the unit reaches on real photos;
    given a photo folder with enough photos, also the trust measures (see ``trust``; the first
    layer has no path score), else ``settings["trust"]`` says why not.

    Args:
        model: a VisionModel or a model's name.
        layer: the layer's name.
        units: the units to measure (default: the layer's first eight).
        photos: a folder (of any size), a list of photos, or None for the built-in photos.
        progress: called with (unit-steps done, unit-steps in all).
        spec: the options as a ``StatsSpec`` (keyword options override its values).
        options: any option of ``StatsSpec``, by name (listed below).
    Returns:
        One row per unit, with its ratio (and trust measures); the median ratio.
    Raises:
        UnknownNameError: an unknown layer.
        OutOfRangeError: a unit out of the layer's range.
        ImageInputError: a missing or empty photo folder.
    """
    if units is not None:
        options["units"] = tuple(units)
    return unit_stats(as_model(model), layer, photos, StatsSpec.of(spec, **options), progress=progress)


@shows_progress("trust", "unit-step")
@takes(TrustSpec)
def trust(model: VisionModel | str, layer: str, units: Sequence[int] | None = None, *, photos: str | Path | Sequence[object],
          out: str | Path = TRUST_OUT, progress: Progress | None = None, spec: TrustSpec | None = None,
          **options: Any) -> TrustReport:
    """Measured evidence that each unit's picture shows what the unit does on real photos: the
    ratio of activations, the path score (Geirhos et al. 2024) and a machine two-alternative
    choice (Borowski et al. 2021, with a judge network in place of the person).

    Args:
        model: a VisionModel or a model's name.
        layer: the layer (not the first: the path needs earlier layers).
        units: the units to measure (default: the layer's first eight).
        photos: a folder (of any size) or a list of photos.
        out: the output folder: trust.json, each unit's pictures and path plot, sheet.png.
        progress: called with (unit-steps done, unit-steps in all).
        spec: the options as a ``TrustSpec`` (keyword options override its values).
        options: any option of ``TrustSpec``, by name (listed below); ``recipe`` is a Recipe or a
            recipe's name, ``judge`` a VisionModel or a model's name.
    Returns:
        The measures per unit, their medians, and the files written.
    Raises:
        OutOfRangeError: the first layer, a unit or option out of range, too few photos.
        ConvscopeError: a judge that cannot load.
        ImageInputError: a missing or empty photo folder.
        JobFolderError: ``out`` holds a trust run of other settings, or another run is writing it.
    """
    if units is not None:
        options["units"] = tuple(units)
    return assess_trust(as_model(model), layer, photos, out, TrustSpec.of(spec, **options), progress=progress)


@shows_progress("twins", "photo", "picture_progress")
@takes(TwinsSpec)
def twins(model: VisionModel | str, layer: str, *, photos: PhotosLike = None, progress: Progress | None = None,
          picture_progress: Progress | None = None, spec: TwinsSpec | None = None, **options: Any) -> TwinReport:
    """Units that are rotated copies of each other: a unit's maps on turned photos match
    another unit's maps on the photos.

    Args:
        model: a VisionModel or a model's name.
        layer: a layer with positions.
        photos: a folder (of any size), a list of photos, or None for the built-in photos.
        progress: called with (photos done, photos in all) over the photos.
        picture_progress: called with (unit-steps done, unit-steps in all) over the pictures
            rendered now.
        spec: the options as a ``TwinsSpec`` (keyword options override its values).
        options: any option of ``TwinsSpec``, by name (listed below).
    Returns:
        The pairs found, the layer's counts, and (with ``pictures``) the sheet of the strongest pairs.
    Raises:
        OutOfRangeError: an angle, threshold or step out of range.
    """
    spec = TwinsSpec.of(spec, **options)
    model = as_model(model)
    report = find_twins(model, layer, as_source(photos), angles=spec.angle_values, threshold=spec.threshold,
                        progress=progress)
    if spec.pictures:
        picture_of = twin_pictures(model, report, spec.resolved, spec.atlas, spec.top, progress=picture_progress)
        add_picture_view(model, report, picture_of, top=spec.top)
    return report


@shows_progress("exemplars", "photo")
@takes(ExemplarsSpec)
def exemplars(model: VisionModel | str, photos: str | Path, out: str | Path, layers: Sequence[str] | None = None, *,
              runner: ShardRunner | None = None, progress: Progress | None = None, spec: ExemplarsSpec | None = None,
              **options: Any) -> ExemplarRun:
    """The photos of a folder (of any size) that excite each unit most, in one streaming pass
    that resumes after a stop: a result file per layer in ``out`` (see ``data.layer_files.layer_file``).

    Args:
        model: a VisionModel or a model's name.
        photos: the photo folder, read with its subfolders.
        out: the output folder.
        layers: the layers (default: the model's main layers, logits included).
        runner: where the photos are read (a ``photo_pass.ShardRunner``, e.g. ``on_ray(...)``;
            default: in this process; the files are the same).
        progress: called with (photos done, photos in all).
        spec: the options as an ``ExemplarsSpec`` (keyword options override its values).
        options: any option of ``ExemplarsSpec``, by name (listed below).
    Returns:
        Each layer's exemplars, the files read and those skipped.
    Raises:
        ImageInputError: a missing or empty photo folder.
        OutOfRangeError: an option out of range.
        JobFolderError: ``out`` holds a pass with other settings, or another run is writing it.
    """
    if layers is not None:
        options["layers"] = tuple(layers)
    return run_exemplars(as_model(model), photos, out, ExemplarsSpec.of(spec, **options), runner=runner,
                         progress=progress)


@shows_progress("atlas", "unit", "photos_progress")
@takes(AtlasSpec)
def atlas(model: VisionModel | str, out: str | Path, *, runner: ShardRunner | None = None,
          progress: AtlasProgress | None = None, photos_progress: Progress | None = None,
          watch: BatchWatch | None = None, spec: AtlasSpec | None = None, **options: Any) -> AtlasSummary:
    """Every unit of a network rendered, measured against photos, and written as a static site
    (``out/index.html``); a stopped run continues where it was.

    Args:
        model: a VisionModel or a model's name.
        out: the output folder.
        runner: where the photo folder is read (default: in this process); ``on_ray(...)`` also
            renders the batches as Ray tasks there (the files are the same).
        progress: called with (units done, units in all, Ray workers busy or None).
        photos_progress: called with (photos read, photos in all) while a layer's photos are read
            for its measures (once per layer, before its first unit is written).
        watch: called at every step of a batch rendered in this process with (layer, units, the
            pictures as they stand, (B, 3, H, W) in [0, 1]), to show them as they go; it must not
            change them (the files are the same).
        spec: the options as an ``AtlasSpec`` (keyword options override its values).
        options: any option of ``AtlasSpec``, by name (listed below); ``recipe`` is a Recipe or
            a recipe's name, ``judge`` a VisionModel or a model's name.
    Returns:
        The folder, the units in it, and how many were rendered now.
    Raises:
        JobFolderError: ``out`` holds an atlas with other settings (without ``force``), or
            another run is writing it (without ``wait``).
    """
    if "layers" in options and options["layers"] is not None:
        options["layers"] = tuple(options["layers"])
    renders = ray_runner_factory(runner.cluster) if isinstance(runner, RayShards) else \
        (lambda m, r, seed: LocalRunner(m, r, seed, watch)) if watch is not None else None
    return build_atlas(as_model(model), out, AtlasSpec.of(spec, **options), progress=progress, runner_factory=renders,
                       photo_runner=runner, photos_progress=photos_progress)


@shows_progress("activation atlas", "step")
@takes(ActivationAtlasSpec)
def activation_atlas(model: VisionModel | str, layer: str, photos: str | Path, out: str | Path, *,
                     runner: ShardRunner | None = None, progress: StageProgress | None = None,
                     spec: ActivationAtlasSpec | None = None, **options: Any) -> ActivationAtlasSummary:
    """The activation atlas of a layer (Carter et al. 2019): its activations over a photo folder
    laid out with UMAP, a picture per grid cell, a zoomable page in ``out``.

    Args:
        model: a VisionModel or a model's name.
        layer: a layer with positions.
        photos: the photo folder, read with its subfolders.
        out: the output folder.
        runner: where the sampling reads the photos (e.g. ``on_ray(...)``; default: in this process).
        progress: called with (stage, done, total); the stages are "photos" and "cells".
        spec: the options as an ``ActivationAtlasSpec`` (keyword options override its values).
        options: any option of ``ActivationAtlasSpec``, by name (listed below).
    Returns:
        The page, the cells drawn and the samples used.
    Raises:
        MissingExtraError: umap-learn is not installed.
        JobFolderError: ``out`` holds an atlas of other settings, or another run is writing it.
    """
    return activation_atlas_job.activation_atlas(as_model(model), layer, photos, out,
                                                 ActivationAtlasSpec.of(spec, **options), runner=runner,
                                                 progress=progress)


def on_ray(address: str = "auto", gpus_per_task: float = GPUS_PER_TASK) -> RayShards:
    """A runner that reads photo passes as Ray tasks on a cluster, to the same results as in
    this process. Give it as ``runner=`` to ``exemplars``, ``activation_atlas``, ``concepts`` and
    ``atlas``, or in ``PhotoFolder(folder, runner=...)`` as the photos of ``stats``, ``grid`` and
    ``twins``. Every node must see the folder at the same path.

    Args:
        address: ``auto`` (a local Ray instance) or a cluster's host:port.
        gpus_per_task: GPUs each task takes (0: tasks run on CPUs).
    Returns:
        The runner; ``runner.cluster.close()`` disconnects.
    Raises:
        RayClusterError: Ray is not installed, the address does not answer, the workers cannot
            run convscope, or the cluster has fewer GPUs than ``gpus_per_task``.
    """
    return RayShards(RayCluster(address, gpus_per_task))


@shows_progress("concepts", "step")
@takes(ConceptsSpec)
def concepts(model: VisionModel | str, layer: str, photos: str | Path, out: str | Path, *,
             runner: ShardRunner | None = None, progress: StageProgress | None = None, spec: ConceptsSpec | None = None,
             **options: Any) -> Concepts:
    """The concepts of a layer: a dictionary (NMF, a TopK sparse autoencoder, or a method of your
    own: see ``dictionary_method``) learned from its activations over a photo folder of any
    size, each concept rendered, located in the photos and weighed for the classes; measured on
    held-out photos beside the layer's own units; a page in ``out``. The same call continues a
    stopped run.

    Args:
        model: a VisionModel or a model's name.
        layer: a layer with positions (a conv or token layer; a token layer gives its patch tokens).
        photos: the photo folder, read with its subfolders.
        out: the output folder.
        runner: where the collection pass reads the photos (default: in this process; see ``exemplars``).
        progress: called with (stage, done, total).
        spec: the options as a ``ConceptsSpec`` (keyword options override its values).
        options: any option of ``ConceptsSpec``, by name (listed below); ``recipe`` is a Recipe
            or a recipe's name, ``judge`` a VisionModel or a model's name.
    Returns:
        The concepts: ``encode``, ``decode``, ``maps`` of a photo, ``measures``, the ``record`` of
        concepts.json and the page ``index``.
    Raises:
        OutOfRangeError: a setting out of range, or NMF on a signed layer.
        JobFolderError: ``out`` holds concepts of other settings, or another run is writing it.
        ImageInputError: an empty or unreadable folder.
    """
    network = as_model(model)
    run = learn_concepts(network, layer, photos, out, ConceptsSpec.of(spec, **options), runner=runner,
                         progress=progress)
    return Concepts(network, run.record.layer, run.dictionary, run.record, run.out)


@shows_progress("spectrum", "photo")
@takes(SpectrumSpec)
def spectrum(photos: str | Path | np.ndarray | Sequence[object] | None, *, progress: Progress | None = None,
             skipped: list[str] | None = None, spec: SpectrumSpec | None = None, **options: Any) -> Spectrum:
    """The mean amplitude spectrum of photos, for the maco recipe's ``spectrum`` setting (save it
    with ``Spectrum.save``).

    Args:
        photos: a folder, a list of photos and folders (paths, arrays, PIL images, Pictures), or
            None for the built-in photos.
        progress: called with (photos done, photos in all).
        skipped: a list that receives a note per photo that could not be read (they are left out).
        spec: the options as a ``SpectrumSpec`` (keyword options override its values).
        options: any option of ``SpectrumSpec``, by name (listed below).
    Returns:
        The spectrum; ``settings["photos"]`` counts the photos read.
    Raises:
        ImageInputError: a missing folder or file, or no photo could be read.
    """
    if photos is None:
        listed: list[object] = [p.pixels for p in builtin_photos()]
    elif isinstance(photos, np.ndarray):
        listed = [photos]
    else:
        listed = []
        for item in [photos] if isinstance(photos, (str, Path)) else photos:
            if isinstance(item, (str, Path)) and Path(item).is_dir():
                listed += photo_files(item)
            elif isinstance(item, (str, Path)) and not Path(item).exists():
                raise ImageInputError(f"photo not found: {item}")
            else:
                listed.append(item)
    notes = skipped if skipped is not None else []
    try:
        return measure_spectrum(readable_photos(listed, notes), count=len(listed), progress=progress,
                                spec=SpectrumSpec.of(spec, **options))
    except ImageInputError:
        if notes:
            raise ImageInputError(f"no photo could be read ({len(notes)} files); the first: {notes[0]}") from None
        raise


