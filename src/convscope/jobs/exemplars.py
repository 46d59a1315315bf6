"""Dataset examples at scale: one streaming pass over a photo folder keeps, for every unit of
the layers asked for, the top-k photos by peak activation (with where the peak is), the
top-k by mean activation, and running means and maxima. Memory is bounded by units x k,
whatever the number of photos. The pass runs through ``photo_pass`` (here, or on a cluster),
checkpoints with atomic files and resumes to the
same result; the result is one small file per layer.

Ties are broken by the lower photo index, so the result equals a brute-force sort.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from convscope.data.exemplars_record import ExemplarsRecord
from convscope.data.layer_files import SUMMARY_FILE, layer_file, load_layer_file, write_layer_file
from convscope.data.photo_pass import Checkpoint, ShardRunner, run_pass
from convscope.data.photo_sources import PhotoFolder
from convscope.data.photo_stream import files_signature, nothing_readable
from convscope.data.unit_exemplars import ExemplarSet, LayerExemplars
from convscope.errors import OutOfRangeError
from convscope.io.files import write_json
from convscope.io.notebook import fields_html
from convscope.jobs.job_folder import JobFolder
from convscope.jobs.specs import ExemplarsSpec
from convscope.models.base import VisionModel
from convscope.runtime.progress import Progress
from convscope.runtime.record import RecordError

STATE_FILE = "exemplars-state.pt"


@dataclass
class ExemplarRun:
    """What a pass produced: the layers' results, the files, and the files skipped."""

    layers: dict[str, LayerExemplars]
    files: list[str]
    skipped: list[dict]
    settings: dict = field(default_factory=dict)

    def _repr_html_(self) -> str:
        return fields_html("exemplars", {"photos": len(self.files), "skipped": len(self.skipped),
                                         "layers": ", ".join(self.layers)})


@dataclass(frozen=True)
class ExemplarsPass:
    """The photo pass of ``run_exemplars``: the best ``top`` photos of every unit of ``layers``."""

    layers: list[str]
    channels: dict[str, int]
    top: int

    def empty(self) -> ExemplarSet:
        return ExemplarSet.empty(self.channels, self.top)


def _settings(model: VisionModel, layers: Sequence[str], files: Sequence[Path], root: Path, top: int, size: int,
              batch: int) -> dict:
    digest = files_signature(files, root)
    return {"model": model.name, "layers": list(layers), "top": top, "size": size, "batch": batch,
            "photos": len(files), "files_signature": digest, "precision": model.effective_precision}


def run_exemplars(model: VisionModel, photos_dir: str | Path, out: str | Path, spec: ExemplarsSpec, *,
                  runner: ShardRunner | None = None, progress: Progress | None = None) -> ExemplarRun:
    """One pass over every photo under ``photos_dir`` (subfolders included) at the network's
    input size, all the spec's layers from one forward per batch, stopped after the deepest; the
    state is saved every ``spec.checkpoint_every`` batches and the same call continues from it.

    Args:
        model: the network.
        photos_dir: the photo folder.
        out: the output folder (owned through a ``JobFolder``).
        spec: the options.
        runner: where the photos are read (default: in this process; the result is the same).
        progress: called with (photos done, photos in all).
    Returns:
        Each layer's exemplars, the files read and those skipped.
    """
    names = [model.layer(name).name for name in (spec.layers or model.main_layers)]
    if not names:
        raise OutOfRangeError("name at least one layer")
    root, out = Path(photos_dir), Path(out)
    source = PhotoFolder(root, spec.workers, runner=runner)
    settings = _settings(model, names, source.files, root, spec.top, model.input_size, spec.batch)
    with JobFolder(out, {"job": "exemplars", **settings}, wait=spec.wait):
        return _run(model, source, out, settings, spec.checkpoint_every, progress)


def _run(model: VisionModel, source: PhotoFolder, out: Path, settings: dict, checkpoint_every: int,
         progress: Progress | None) -> ExemplarRun:
    """The pass proper, in a folder the caller owns; a finished pass there is read back."""
    done = finished_run(out, settings)
    if done is not None:
        if progress is not None:
            progress(len(source), len(source))
        return done
    names = settings["layers"]
    spec = ExemplarsPass(names, {n: model.layer(n).channels for n in names}, settings["top"])
    state = run_pass(model, source, spec, batch=settings["batch"],
                     checkpoint=Checkpoint(out / STATE_FILE, settings, checkpoint_every), progress=progress)
    skipped = [{"file": source.names[i], "reason": r} for i, r in state.skipped]
    if state.read == 0:
        (out / STATE_FILE).unlink(missing_ok=True)
        raise nothing_readable(len(source), source.root, [entry["file"] for entry in skipped])
    _finish(out, state.part.results, settings, skipped, source.names, source.root)
    return ExemplarRun(state.part.results, source.names, skipped, settings)


def _finish(out: Path, layers: dict[str, LayerExemplars], settings: dict, skipped: list[dict], files: list[str],
            root: Path) -> None:
    for name, result in layers.items():
        meta = {**settings, "layer": name, "photos_read": result.photos,
                "map_size": list(result.map_size) if result.map_size else None}
        write_layer_file(layer_file(out, name), result.arrays(), meta)
    record = ExemplarsRecord(**settings, root=str(root.resolve()), files=files, skipped=skipped,
                             layer_files={n: layer_file(out, n).name for n in layers})
    write_json(out / SUMMARY_FILE, record.to_json())
    (out / STATE_FILE).unlink(missing_ok=True)


def finished_run(out: Path, settings: dict) -> ExemplarRun | None:
    """The result already in ``out`` of a pass with these settings, or None."""
    summary_path = out / SUMMARY_FILE
    if not summary_path.exists() or (out / STATE_FILE).exists():
        return None
    try:
        record = ExemplarsRecord.from_json(json.loads(summary_path.read_text()), str(summary_path))
    except RecordError:
        return None  # a pass of another version: read again
    if record.settings() != settings:
        return None
    layers = {}
    for name, filename in record.layer_files.items():
        arrays, meta = load_layer_file(out / filename)
        layers[name] = LayerExemplars.from_arrays(arrays, meta)
    return ExemplarRun(layers, record.files, record.skipped, settings)
