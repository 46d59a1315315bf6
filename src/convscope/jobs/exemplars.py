"""Dataset examples at scale: one streaming pass over a photo folder keeps, for every unit of
the layers asked for, the top-k photos by peak activation (with where the peak is), the
top-k by mean activation, and running means and maxima. Memory is bounded by units x k,
whatever the number of photos. The job checkpoints with atomic files and resumes to the
same result; the result is one small file per layer.

Ties are broken by the lower photo index, so the result equals a brute-force sort.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import torch

from convscope.data.layer_files import SUMMARY_FILE, layer_file, load_layer_file, write_layer_file
from convscope.data.photo_stream import files_signature, nothing_readable, photo_batches, photo_files
from convscope.data.unit_exemplars import LayerExemplars
from convscope.errors import OutOfRangeError
from convscope.io.files import atomic_path, write_json
from convscope.io.notebook import fields_html
from convscope.models.base import VisionModel
from convscope.models.probe import Probe
from convscope.runtime.heap import reused_memory
from convscope.runtime.progress import Progress

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


def _settings(model: VisionModel, layers: Sequence[str], files: Sequence[Path], root: Path, top: int, size: int,
              batch: int) -> dict:
    digest = files_signature(files, root)
    return {"model": model.name, "layers": list(layers), "top": top, "size": size, "batch": batch,
            "photos": len(files), "files_signature": digest, "precision": model.effective_precision}


def run_exemplars(model: VisionModel, photos_dir: str | Path, out: str | Path, layers: Sequence[str], *,
                  top: int = 9, batch: int = 64, workers: int = 2, checkpoint_every: int = 20,
                  progress: Progress | None = None) -> ExemplarRun:
    """One pass over every photo under ``photos_dir`` (subfolders included) at the network's
    input size, all ``layers`` from one forward per batch, stopped after the deepest; the
    state is saved every ``checkpoint_every`` batches and the same call continues from it."""
    if top <= 0 or batch <= 0 or checkpoint_every <= 0 or workers < 0:
        raise OutOfRangeError("{top}, {batch} and {checkpoint_every} must be positive, {workers} 0 or more",
                              options=["top", "batch", "checkpoint_every", "workers"])
    names = [model.layer(name).name for name in layers]
    if not names:
        raise OutOfRangeError("name at least one layer")
    root, out = Path(photos_dir), Path(out)
    files = photo_files(root)
    size = model.input_size
    settings = _settings(model, names, files, root, top, size, batch)
    done = finished_run(out, settings)
    if done is not None:
        if progress is not None:
            progress(len(files), len(files))
        return done
    state = _load_state(out, settings)
    if state is None:
        state = {"next_batch": 0, "layers": {n: LayerExemplars.empty(model.layer(n).channels, top) for n in names},
                 "skipped": [], "settings": settings}
    batches = (len(files) + batch - 1) // batch
    done_photos = min(len(files), state["next_batch"] * batch)
    if progress is not None:
        progress(done_photos, len(files))
    with torch.no_grad(), reused_memory(model.device), Probe(model, names) as probe:
        for part in photo_batches(files, size, batch, workers, first=state["next_batch"]):
            state["skipped"] += [{"file": files[i].relative_to(root).as_posix(), "reason": r} for i, r in part.skipped]
            if len(part.indices):
                acts = probe(part.images(model.device))
                for name in names:
                    state["layers"][name].update(part.indices, acts[name])
            state["next_batch"] = part.number + 1
            if state["next_batch"] % checkpoint_every == 0 and state["next_batch"] < batches:
                _save_state(out, state)
            if progress is not None:
                progress(min(len(files), state["next_batch"] * batch), len(files))
    relative = [p.relative_to(root).as_posix() for p in files]
    if len(state["skipped"]) == len(files):
        (out / STATE_FILE).unlink(missing_ok=True)
        raise nothing_readable(len(files), root, [entry["file"] for entry in state["skipped"]])
    _finish(out, state, relative, root)
    return ExemplarRun(state["layers"], relative, state["skipped"], settings)


def _finish(out: Path, state: dict, files: list[str], root: Path) -> None:
    settings = state["settings"]
    for name, result in state["layers"].items():
        meta = {**settings, "layer": name, "photos_read": result.photos,
                "map_size": list(result.map_size) if result.map_size else None}
        write_layer_file(layer_file(out, name), result.arrays(), meta)
    write_json(out / SUMMARY_FILE, {**settings, "root": str(root.resolve()), "files": files,
                                    "skipped": state["skipped"],
                                    "layer_files": {n: layer_file(out, n).name for n in state["layers"]}})
    (out / STATE_FILE).unlink(missing_ok=True)


def _save_state(out: Path, state: dict) -> None:
    plain = {**state, "layers": {name: vars(result) for name, result in state["layers"].items()}}
    with atomic_path(out / STATE_FILE) as tmp:
        torch.save(plain, tmp)


def _load_state(out: Path, settings: dict) -> dict | None:
    """The saved state of the same job, or None. A state of other settings is an error."""
    path = out / STATE_FILE
    if not path.exists():
        return None
    state = torch.load(path, weights_only=True)
    if state["settings"] != settings:
        changed = [k for k in settings if state["settings"].get(k) != settings[k]]
        raise OutOfRangeError(f"{out} holds an unfinished pass with other settings ({', '.join(changed)}): "
                              f"give another {{out}}, or delete {path} to start again", options=["out"])
    state["layers"] = {name: LayerExemplars(**fields) for name, fields in state["layers"].items()}
    return state


def finished_run(out: Path, settings: dict) -> ExemplarRun | None:
    """The result already in ``out`` of a pass with these settings, or None."""
    summary_path = out / SUMMARY_FILE
    if not summary_path.exists() or (out / STATE_FILE).exists():
        return None
    summary = json.loads(summary_path.read_text())
    if {k: summary.get(k) for k in settings} != settings:
        return None
    layers = {}
    for name, filename in summary["layer_files"].items():
        arrays, meta = load_layer_file(out / filename)
        layers[name] = LayerExemplars.from_arrays(arrays, meta)
    return ExemplarRun(layers, summary["files"], summary["skipped"], settings)
