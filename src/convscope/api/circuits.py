"""The API's ``circuit``: how a unit, class or objective is built from earlier layers, written
as a folder when ``out`` is given."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from convscope.data.photo_sources import PhotosLike
from convscope.jobs.circuit import circuit_job
from convscope.jobs.specs import CircuitJobSpec
from convscope.methods.circuits.build import build_circuit
from convscope.methods.circuits.result import Circuit
from convscope.models import VisionModel, as_model
from convscope.runtime.progress import StageProgress, shows_progress
from convscope.runtime.spec import takes


@shows_progress("circuit")
@takes(CircuitJobSpec)
def circuit(model: VisionModel | str, target: str, *, photos: PhotosLike, out: str | Path | None = None,
            progress: StageProgress | None = None, spec: CircuitJobSpec | None = None, **options: Any) -> Circuit:
    """How ``target`` is built from the units of an earlier layer, how much of it they explain
    (checked by ablation against random orders), and what it feeds; with ``depth``, a graph.

    Args:
        model: a VisionModel or a model's name.
        target: ``layer:unit`` (``block8:12``), ``logits:NAME`` or ``logits:INDEX``, or an objective
            in the text form (``block8:12 - 0.5*block8:40``).
        photos: a folder (of any size) or a list of photos.
        out: a folder to write circuit.json, the page (index.html) and the pictures into (None: none).
        progress: called with (stage, done, total): "photos" (read, of all), "nodes" (explained, of
            those planned), "pictures" (unit-steps rendered).
        spec: the options as a ``CircuitJobSpec`` (keyword options override its values).
        options: any option of ``CircuitJobSpec``, by name (listed below).
    Returns:
        The circuit, which shows itself in Jupyter.
    Raises:
        UnknownNameError: an unknown layer or class.
        OutOfRangeError: an option out of range, ``from_layer`` at or after the target's layer,
            too few photos.
        ImageInputError: no photo could be read.
        JobFolderError: ``out`` holds other output, or another run is writing it.
    """
    spec = CircuitJobSpec.of(spec, **options)
    model = as_model(model)
    if out is None:
        return build_circuit(model, target, photos, spec, progress=progress)
    return circuit_job(model, target, photos, out, spec, progress=progress)[0]
