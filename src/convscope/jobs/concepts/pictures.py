"""Each concept shown: a picture of its direction through the render loop (any recipe, in
batches, with its importance map), and its top photos cut to the layer's receptive field
around the peak, the concept's map laid over each (the photo dims where the code is low).

Pictures are written as their batch finishes, each with a small record, so a rerun renders
only the concepts still missing."""
from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn.functional as F

from convscope.data.exemplar_crops import crop_to_field
from convscope.data.photo_stream import read_tensor
from convscope.data.unit_exemplars import LayerExemplars
from convscope.data.vector_shards import VectorShards
from convscope.engine.objectives import direction
from convscope.engine.recipes import get_recipe
from convscope.engine.render import render
from convscope.io.files import write_json
from convscope.io.picture import row
from convscope.jobs.specs import ConceptsSpec
from convscope.methods.concepts.dictionary import ConceptDictionary
from convscope.methods.concepts.effects import position_codes
from convscope.methods.concepts.folder import PICTURES as FOLDER
from convscope.methods.concepts.folder import concept_name
from convscope.models.base import VisionModel
from convscope.models.probe import Probe
from convscope.models.receptive import receptive_field
from convscope.runtime.progress import Progress

CROP_PX = 96
DIMMED = 0.2  # the brightness left where a concept's code is zero


def dimmed(image: torch.Tensor, codes: torch.Tensor, peak: float) -> torch.Tensor:
    """A (3, S, S) image dimmed where a concept's (H, W) code map, over ``peak``, is low."""
    heat = F.interpolate(codes[None, None] / max(peak, 1e-12), size=tuple(image.shape[-2:]), mode="bilinear",
                         align_corners=False)[0].clamp(0, 1)
    return image * (DIMMED + (1 - DIMMED) * heat)


def render_concepts(model: VisionModel, layer: str, dictionary: ConceptDictionary, out: Path, spec: ConceptsSpec, *,
                    key: str, progress: Progress | None = None) -> dict[int, float]:
    """Renders the concepts whose picture is missing (or of other settings); returns every
    concept's activation on its picture.

    Args:
        model: the network.
        layer: the dictionary's layer.
        dictionary: the concepts.
        out: the job's folder.
        spec: the job's options: its recipe, its batch (concepts rendered together) and its seed
            (concept i starts from noise seed + i; the transforms are drawn with the seed).
        key: what identifies the settings of the pictures.
        progress: called with (unit-steps done, unit-steps in all).
    """
    recipe, seed, batch = get_recipe(spec.recipe), spec.seed, spec.batch
    folder = out / FOLDER
    activations: dict[int, float] = {}
    missing = []
    for i in range(dictionary.concepts):
        record = _read_record(folder, i, key)
        if record is None:
            missing.append(i)
        else:
            activations[i] = record["activation"]
    total = len(missing) * recipe.steps
    for start in range(0, len(missing), batch):
        chunk = missing[start:start + batch]

        def report(done: int, _total: int, first: int = start) -> None:
            if progress is not None:
                progress(first * recipe.steps + done, total)

        result = render(model, [direction(layer, dictionary.atoms[i]) for i in chunk], recipe,
                        seeds=[seed + i for i in chunk], transform_seed=seed, batch=batch, progress=report)
        for i, picture, final in zip(chunk, result.pictures, result.final.tolist()):
            picture.save(folder / f"{concept_name(i)}.png")
            picture.importance_picture().save(folder / f"{concept_name(i)}.importance.png")
            write_json(folder / f"{concept_name(i)}.picture.json", {"key": key, "activation": final})
            activations[i] = final
    return activations


def _read_record(folder: Path, index: int, key: str) -> dict | None:
    path = folder / f"{concept_name(index)}.picture.json"
    if not path.is_file() or not (folder / f"{concept_name(index)}.png").is_file():
        return None
    record = json.loads(path.read_text())
    return record if record.get("key") == key else None


def write_concept_crops(model: VisionModel, shards: VectorShards, dictionary: ConceptDictionary,
                        exemplars: LayerExemplars, out: Path, count: int) -> list[list[dict]]:
    """Each concept's ``count`` top photos, cropped around the peak with the concept's map over
    them, as one row ``cNNN.photos.png``; returns each concept's photos (file, peak, position)."""
    layer = model.layer(shards.settings["layer"])
    field = receptive_field(model, layer.name)
    needed = sorted({int(p) for p in exemplars.peak_photos[:, :count].flatten().tolist() if p >= 0})
    size = model.input_size
    images = {p: read_tensor(shards.root / shards.files[p], size) for p in needed}
    codes = {}
    device_dictionary = dictionary.to(model.device)
    with torch.no_grad(), Probe(model, [layer.name]) as probe:
        for start in range(0, len(needed), 32):
            chunk = needed[start:start + 32]
            maps = layer.as_used(probe(torch.stack([images[p] for p in chunk]).to(model.device))[layer.name])
            for p, c in zip(chunk, position_codes(device_dictionary, maps.float()).cpu()):
                codes[p] = c
    records = []
    for concept in range(dictionary.concepts):
        tops, pictures = [], []
        peak = float(exemplars.max_peak[concept].clamp_min(1e-12))
        for photo, value, (y, x) in zip(exemplars.peak_photos[concept][:count].tolist(),
                                        exemplars.peak_values[concept][:count].tolist(),
                                        exemplars.peak_positions[concept][:count].tolist()):
            if photo < 0 or value <= 0:
                continue
            pictures.append(crop_to_field(dimmed(images[photo], codes[photo][concept], peak), field, (y, x), CROP_PX))
            tops.append({"file": shards.files[photo], "peak": value, "position": [y, x]})
        if pictures:
            row(pictures, margin=2).save(out / FOLDER / f"{concept_name(concept)}.photos.png")
        records.append(tops)
    return records
