"""Labels as a folder: ``labels.json`` (every label with its AUC, p-value, classes and the rule)
and ``index.html`` (the page, with its search box), written by one locked job folder."""
from __future__ import annotations

from pathlib import Path

from convscope.data.photo_sources import PhotosLike, as_source
from convscope.io.files import write_json
from convscope.jobs.job_folder import JobFolder
from convscope.jobs.specs import LabelsJobSpec
from convscope.methods.labels.build import build_labels
from convscope.methods.labels.result import Labels
from convscope.models.base import VisionModel
from convscope.pages.labels_page import write_labels_page
from convscope.runtime.progress import StageProgress

LABELS_FILE = "labels.json"
GENERATED = (LABELS_FILE, "index.html")


def labels_job(model: VisionModel, layer: str, photos: PhotosLike, out: str | Path, spec: LabelsJobSpec, *,
               progress: StageProgress | None = None) -> tuple[Labels, Path]:
    """Labels the units of ``layer`` and writes them into ``out``, which it holds locked meanwhile.

    A folder of labels of other settings is refused, or with ``spec.force`` replaced; with
    ``spec.wait``, a run that holds the folder is waited for.

    Returns:
        The labels and the page's path.
    Raises:
        JobFolderError: ``out`` holds another command's output or labels of other settings, or
            another run is writing it.
    """
    key = {"job": "labels", "model": model.name, "layer": layer, "photos": as_source(photos).signature(),
           "units": list(spec.units), "classes": spec.classes, "min_photos": spec.min_photos,
           "permutations": spec.permutations, "seed": spec.seed}
    with JobFolder(out, key, wait=spec.wait, replace=spec.force, generated=GENERATED):
        labels = build_labels(model, layer, photos, spec, progress=progress)
        out = Path(out)
        write_json(out / LABELS_FILE, labels.to_json())
        return labels, write_labels_page(out, labels)
