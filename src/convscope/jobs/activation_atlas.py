"""The activation atlas (Carter et al., Distill 2019): spatial activation vectors of a layer,
sampled over a photo folder, laid out in 2-D with UMAP and binned into a grid; each cell with
enough points is drawn by rendering the direction of its mean vector (batched through the
render loop, any recipe), and labelled with its count, the classes that direction drives
most (the network's top classes for its picture), and the photo crops nearest to it.

The job resumes: the sample is saved once, and every cell's picture and record are written
as their batch finishes, so a rerun renders only the cells still missing.
"""
from __future__ import annotations

import hashlib
import importlib
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from convscope.data.activation_atlas_record import ActivationAtlasRecord, CellClass, CellPhoto, CellRecord
from convscope.data.activation_samples import ActivationSamples, sample_activations, sampling_settings
from convscope.data.exemplar_crops import field_crop
from convscope.data.photo_pass import ShardRunner
from convscope.data.photo_sources import PhotoFolder
from convscope.engine.objectives import direction
from convscope.engine.recipes import Recipe, get_recipe
from convscope.engine.render import render
from convscope.errors import MissingExtraError, OutOfRangeError
from convscope.io.files import write_json
from convscope.io.notebook import fields_html
from convscope.io.picture import Picture, row
from convscope.jobs.job_folder import JobFolder
from convscope.jobs.specs import ActivationAtlasSpec
from convscope.models.base import VisionModel
from convscope.models.receptive import ReceptiveField, receptive_field
from convscope.runtime.progress import StageProgress
from convscope.runtime.record import RecordError

ATLAS_FILE = "activation-atlas.json"
CELLS = "cells"
NEAREST = 4  # photo crops shown per cell
TOP_CLASSES = 3
CROP_PX = 64
"""Called with (stage, done, total): stage "photos" (the sampling pass) or "cells" (unit-steps)."""


def require_umap() -> None:
    """Raises a one-line error that says how to install umap-learn, when it is missing."""
    try:
        importlib.import_module("umap")
    except ImportError as e:
        raise MissingExtraError("the activation atlas lays out activations with umap-learn, which is not installed: "
                                "pip install 'convscope[atlas]' (or pip install umap-learn)") from e


def umap_layout(vectors: np.ndarray, seed: int) -> np.ndarray:
    """(N, 2) in [0, 1]: UMAP of the vectors (cosine distance, as in the paper), each axis
    scaled to the unit interval. The same seed gives the same layout."""
    require_umap()
    import umap

    neighbours = max(2, min(20, len(vectors) - 1))
    with warnings.catch_warnings():  # a seed makes UMAP single-threaded, which it warns about
        warnings.simplefilter("ignore", UserWarning)
        points = umap.UMAP(n_neighbors=neighbours, min_dist=0.01, metric="cosine",
                           random_state=seed).fit_transform(vectors.astype(np.float32))
    low, high = points.min(axis=0), points.max(axis=0)
    return ((points - low) / np.maximum(high - low, 1e-12)).astype(np.float32)


@dataclass(frozen=True)
class Cell:
    """A grid cell with enough points: its (row, column), counted from the top left, and the
    indices of the samples in it."""

    row: int
    column: int
    members: tuple[int, ...]

    @property
    def name(self) -> str:
        return f"r{self.row:02d}c{self.column:02d}"


def grid_cells(layout: np.ndarray, grid: int, min_count: int) -> list[Cell]:
    """The cells of a ``grid`` x ``grid`` binning of the layout that hold ``min_count`` points
    or more, row by row (the layout's y grows upwards, rows downwards)."""
    columns = np.minimum((layout[:, 0] * grid).astype(int), grid - 1)
    rows = grid - 1 - np.minimum((layout[:, 1] * grid).astype(int), grid - 1)
    cells = []
    for key in sorted(set(zip(rows.tolist(), columns.tolist()))):
        members = np.flatnonzero((rows == key[0]) & (columns == key[1]))
        if len(members) >= min_count:
            cells.append(Cell(key[0], key[1], tuple(int(m) for m in members)))
    return cells


def nearest_members(samples: ActivationSamples, cell: Cell, mean: np.ndarray, count: int = NEAREST) -> list[int]:
    """The cell's samples most similar (cosine) to its mean, one per photo, best first."""
    members = np.array(cell.members)
    vectors = samples.vectors[members]
    similarity = vectors @ mean / (np.linalg.norm(vectors, axis=1) * np.linalg.norm(mean) + 1e-12)
    chosen, photos = [], set()
    for i in np.argsort(-similarity, kind="stable"):
        photo = int(samples.photos[members[i]])
        if photo not in photos:
            photos.add(photo)
            chosen.append(int(members[i]))
        if len(chosen) == count:
            break
    return chosen


@dataclass
class ActivationAtlasSummary:
    """What an activation atlas run left in its folder: ``index`` (the page) and atlas.png."""

    out: Path
    index: Path
    cells: int
    rendered: int
    samples: int
    photos: int
    skipped: list[dict]
    record: ActivationAtlasRecord

    def _repr_html_(self) -> str:
        return fields_html(f"activation atlas: {self.index}", {
            "cells": self.cells, "rendered now": self.rendered, "samples": self.samples, "photos": self.photos,
            "unreadable photos": len(self.skipped)})


def activation_atlas(model: VisionModel, layer: str, photos_dir: str | Path, out: str | Path,
                     spec: ActivationAtlasSpec, *, runner: ShardRunner | None = None,
                     progress: StageProgress | None = None) -> ActivationAtlasSummary:
    """Builds the activation atlas of ``layer`` over the photos under ``photos_dir`` into ``out``
    (pictures, ``activation-atlas.json``, ``atlas.png`` and the page ``index.html``).

    Args:
        model: the network.
        layer: a layer with positions.
        photos_dir: the photo folder.
        out: the output folder (owned through a ``JobFolder``).
        spec: the options.
        runner: where the sampling pass reads the photos (default: in this process).
        progress: called with (stage, done, total); the stages are "photos" and "cells".
    Returns:
        The page, the cells drawn and the samples used.
    """
    grid, samples, min_count, seed, photo_batch = spec.grid, spec.samples, spec.min_count, spec.seed, spec.photo_batch
    rec = get_recipe(spec.recipe)
    info = model.layer(layer)
    if not info.spatial:
        raise OutOfRangeError(f"layer {info.name} has no positions to lay out: choose a conv layer (or a token layer)")
    require_umap()
    out, source = Path(out), PhotoFolder(photos_dir, spec.workers, runner=runner)
    key = {"job": "activation-atlas", **sampling_settings(model, info.name, source.files, source.root, samples, seed,
                                                          photo_batch),
           "grid": grid, "min_count": min_count, "recipe": rec.as_dict()}
    with JobFolder(out, key, wait=spec.wait) as folder:
        return _build(model, folder, source, rec, spec.batch, progress)


def _build(model: VisionModel, folder: JobFolder, source: PhotoFolder, rec: Recipe, batch: int,
           progress: StageProgress | None) -> ActivationAtlasSummary:
    """The atlas proper, in the folder it owns (whose key holds the settings)."""
    from convscope.pages.activation_atlas_page import write_atlas_page

    out, info = folder.root, model.layer(folder.key["layer"])
    grid, min_count, samples, seed, photo_batch = (folder.key[name] for name in ("grid", "min_count", "samples",
                                                                                 "seed", "batch"))
    report = progress or (lambda *_: None)
    sample = sample_activations(model, info.name, source, out, samples=samples, seed=seed, batch=photo_batch,
                                progress=lambda done, total: report("photos", done, total))
    layout = umap_layout(sample.vectors, seed)
    cells = grid_cells(layout, grid, min_count)
    if not cells:
        raise OutOfRangeError(f"no cell of the {grid}x{grid} grid holds {min_count} of the {len(sample.vectors)} "
                              "samples: use a smaller {grid} or {min_count}, or more {samples}",
                              options=["grid", "min_count", "samples"])
    settings = {"model": model.name, "layer": info.name, "grid": grid, "min_count": min_count,
                "samples": len(sample.vectors), "seed": seed, "recipe": rec.as_dict(),
                "precision": model.effective_precision}
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]
    field = receptive_field(model, info.name)
    records: list[CellRecord] = []
    missing = []
    for cell in cells:
        record = _read_record(out, cell, key)
        (records.append(record) if record is not None else missing.append(cell))
    rendered = 0
    total = len(missing) * rec.steps
    for start in range(0, len(missing), batch):
        chunk = missing[start:start + batch]
        means = [sample.vectors[list(c.members)].mean(axis=0) for c in chunk]
        def cells_done(done: int, _total: int, first: int = start) -> None:
            report("cells", first * rec.steps + done, total)

        result = render(model, [direction(info.name, m) for m in means], rec, seeds=[seed + 1 + i for i in range(
            start, start + len(chunk))], transform_seed=seed, batch=batch, progress=cells_done)
        classes = picture_classes(model, result.pictures)
        for cell, mean, picture, final, top in zip(chunk, means, result.pictures, result.final.tolist(), classes):
            records.append(_write_cell(out, model, sample, field, CellPicture(cell, mean, picture, final, top), key))
            rendered += 1
    records.sort(key=lambda r: (r.row, r.column))
    _remove_stale_cells(out, {r.name for r in records})
    atlas = ActivationAtlasRecord(**settings, photos=len(sample.files),
                                  photos_read=len(sample.files) - len(sample.skipped), skipped=sample.skipped,
                                  map_size=list(sample.map_size), cells=records)
    write_json(out / ATLAS_FILE, atlas.to_json())
    index = write_atlas_page(out, atlas)
    return ActivationAtlasSummary(out, index, len(records), rendered, len(sample.vectors), len(sample.files), sample.skipped,
                                  atlas)


def picture_classes(model: VisionModel, pictures: list[Picture]) -> list[list[CellClass]]:
    """The network's top classes (softmax probability) for each cell's picture, seen whole at
    the input size: the classes the cell's direction drives, through its picture."""
    if model.logits_layer is None:
        return [[] for _ in pictures]
    images = torch.stack([p.to_tensor() for p in pictures]).to(model.device)
    images = F.interpolate(images, size=(model.input_size,) * 2, mode="bilinear", antialias=True, align_corners=False)
    with torch.no_grad():
        probabilities = model.logits(images).float().softmax(dim=1).cpu()
    values, indices = probabilities.topk(min(TOP_CLASSES, probabilities.shape[1]), dim=1)
    return [[CellClass(index=int(i), name=model.class_name(int(i)), probability=float(v)) for v, i in zip(vs, ids)]
            for vs, ids in zip(values, indices)]


def _crops(model: VisionModel, sample: ActivationSamples, field: ReceptiveField, members: list[int]) -> Picture:
    """The photos of ``members`` cropped to the layer's receptive field around their positions, in a row."""
    return row([field_crop(sample.root / sample.files[int(sample.photos[m])], model.input_size, field,
                           sample.positions[m], CROP_PX) for m in members], margin=2)


@dataclass
class CellPicture:
    """A cell rendered: its mean direction, its picture, the picture's activation and top classes."""

    cell: Cell
    mean: np.ndarray
    picture: Picture
    activation: float
    classes: list[CellClass]


def _write_cell(out: Path, model: VisionModel, sample: ActivationSamples, field: ReceptiveField,
                rendered: CellPicture, key: str) -> CellRecord:
    """The cell's picture and photo crops, then its record (the mark that it is finished)."""
    cell, mean, picture, final, classes = (rendered.cell, rendered.mean, rendered.picture, rendered.activation,
                                           rendered.classes)
    folder = out / CELLS
    picture.save(folder / f"{cell.name}.png")
    nearest = nearest_members(sample, cell, mean)
    _crops(model, sample, field, nearest).save(folder / f"{cell.name}.photos.png")
    record = CellRecord(key=key, name=cell.name, row=cell.row, column=cell.column, count=len(cell.members),
                        activation=final, classes=classes,
                        photos=[CellPhoto(file=sample.files[int(sample.photos[m])],
                                          position=[int(v) for v in sample.positions[m]]) for m in nearest])
    write_json(folder / f"{cell.name}.json", record.to_json())
    return record


def _read_record(out: Path, cell: Cell, key: str) -> CellRecord | None:
    """A finished cell of the same settings, or None (a cell of other settings, or written by
    another version, is rendered again)."""
    path = out / CELLS / f"{cell.name}.json"
    if not path.is_file():
        return None
    try:
        record = CellRecord.from_json(json.loads(path.read_text()), str(path))
    except RecordError:
        return None
    if record.key != key or record.count != len(cell.members):
        return None
    return record if (out / CELLS / f"{cell.name}.png").is_file() else None


def _remove_stale_cells(out: Path, names: set[str]) -> None:
    """Files of cells of an earlier layout that this one does not have."""
    for path in (out / CELLS).glob("r*c*.*"):
        if path.name.split(".")[0] not in names:
            path.unlink()
