"""The API's ``labels``: words for the units of a layer, each with its measured score or "no
label", written as a folder when ``out`` is given."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from convscope.data.photo_sources import PhotosLike
from convscope.jobs.labels import labels_job
from convscope.jobs.specs import LabelsJobSpec
from convscope.methods.labels.build import build_labels
from convscope.methods.labels.result import Labels
from convscope.models import VisionModel, as_model
from convscope.runtime.progress import StageProgress, shows_progress
from convscope.runtime.spec import takes


@shows_progress("labels", "step")
@takes(LabelsJobSpec)
def labels(model: VisionModel | str, layer: str, units: Sequence[int] | None = None, *, photos: PhotosLike,
           out: str | Path | None = None, progress: StageProgress | None = None, spec: LabelsJobSpec | None = None,
           **options: Any) -> Labels:
    """A label for each unit of ``layer``: the WordNet group of the photos' classes (or an OR of
    two) that best separates the photos by the unit's mean activation (AUC), with a permutation
    p-value corrected for every label tried; "no label" where the best does not hold.

    Args:
        model: a VisionModel or a model's name.
        layer: the layer's name.
        units: the units to label (default: every unit of the layer).
        photos: a folder (of any size): its class subfolders (ImageNet's layout, synset names) or
            synset file names give the classes, else the network's top class of each photo; or a
            list of photos (the network's classes).
        out: a folder to write labels.json and the page (index.html) into (None: none).
        progress: called with (stage, done, total): "photos" (read, of all) and "shuffles" (the
            test's, done of all).
        spec: the options as a ``LabelsJobSpec`` (keyword options override its values).
        options: any option of ``LabelsJobSpec``, by name (listed below).
    Returns:
        The labels, which show themselves in Jupyter; ``search("dog")`` finds units by label,
        class or name.
    Raises:
        UnknownNameError: an unknown layer.
        OutOfRangeError: a unit out of range, too few photos per class, or no classes (a network
            without class names and a folder without class subfolders).
        ImageInputError: a missing or empty photo folder.
        JobFolderError: ``out`` holds other output, or another run is writing it.
    """
    if units is not None:
        options["units"] = tuple(units)
    spec = LabelsJobSpec.of(spec, **options)
    model = as_model(model)
    if out is None:
        return build_labels(model, layer, photos, spec, progress=progress)
    return labels_job(model, layer, photos, out, spec, progress=progress)[0]
