"""A circuit as a folder: ``circuit.json`` (every number, with the definitions), ``index.html``
(the page), ``graph.png`` (with depth), the pictures, the where-maps and the ablation plots,
written by one locked job folder."""
from __future__ import annotations

from pathlib import Path

from convscope.data.photo_sources import PhotosLike, as_source
from convscope.io.files import write_json
from convscope.jobs.job_folder import JobFolder
from convscope.jobs.specs import CircuitJobSpec
from convscope.methods.circuits.build import build_circuit
from convscope.methods.circuits.result import Circuit
from convscope.models.base import VisionModel
from convscope.pages.circuit_page import write_circuit_page
from convscope.runtime.progress import StageProgress

CIRCUIT_FILE = "circuit.json"
GENERATED = (CIRCUIT_FILE, "index.html", "graph.png", "pictures", "where", "ablation")


def circuit_key(model: VisionModel, target: str, photos: PhotosLike, spec: CircuitJobSpec) -> dict:
    """What identifies a circuit folder's run."""
    return {"job": "circuit", "model": model.name, "target": target, "photos": as_source(photos).signature(),
            "from_layer": spec.from_layer, "top": spec.top, "depth": spec.depth, "expand": spec.expand,
            "photos_top": spec.photos_top, "method": spec.method, "ig_steps": spec.ig_steps,
            "random_orders": spec.random_orders, "seed": spec.seed, "recipe": spec.resolved.as_dict(),
            "atlas": str(spec.atlas) if spec.atlas is not None else None,
            "exemplars": str(spec.exemplars) if spec.exemplars is not None else None,
            "from_concepts": spec.from_concepts}


def write_circuit(out: str | Path, result: Circuit) -> Path:
    """Writes ``result`` into the folder ``out`` (already owned by the caller); returns the page."""
    out = Path(out)
    write_json(out / CIRCUIT_FILE, result.to_json())
    return write_circuit_page(out, result)


def circuit_job(model: VisionModel, target: str, photos: PhotosLike, out: str | Path, spec: CircuitJobSpec, *,
                progress: StageProgress | None = None) -> tuple[Circuit, Path]:
    """Builds the circuit of ``target`` and writes it into ``out``, which it holds locked meanwhile.

    A folder that holds a circuit of the same settings is written again; one of other settings
    is refused, or with ``spec.force`` replaced; with ``spec.wait``, a run that holds the folder
    is waited for.

    Returns:
        The circuit and its page's path.
    Raises:
        JobFolderError: ``out`` holds another command's output or a circuit of other settings, or
            another run is writing it.
    """
    with JobFolder(out, circuit_key(model, target, photos, spec), wait=spec.wait, replace=spec.force,
                   generated=GENERATED):
        result = build_circuit(model, target, photos, spec, progress=progress)
        return result, write_circuit(out, result)
