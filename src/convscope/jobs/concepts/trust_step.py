"""The concepts' trust: each concept's picture measured as a unit's is (the path score and the
machine's two-alternative choice, its one picture as the reference), with the photos ranked by
the concept's mean code, from the codes pass; its controls are its starting noise and the
pictures of the concepts nearest it in the dictionary's order."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import torch
from PIL import Image

from convscope.data.photo_sources import PhotoFolder
from convscope.data.photo_stats import PhotoStats
from convscope.data.vector_shards import VectorShards
from convscope.engine.batch import as_seen
from convscope.engine.recipes import Recipe
from convscope.io.picture import Picture
from convscope.jobs.concepts.codes_pass import CodesPass
from convscope.methods.concepts.folder import PICTURES as FOLDER
from convscope.methods.concepts.folder import concept_name
from convscope.methods.trust.assess import TrustMeter, TrustSettings, trust_impossible
from convscope.methods.trust.controls import other_units, starting_noise
from convscope.methods.trust.plot import path_plot
from convscope.models.base import VisionModel


def concept_trust(model: VisionModel, shards: VectorShards, gathered: CodesPass, recipe: Recipe,
                  out: Path, settings: TrustSettings, seed: int,
                  progress: Callable[[int, int], None] | None = None) -> tuple[dict | str, dict[int, dict]]:
    """Every concept's trust measures, with its path plot written beside its picture.

    Args:
        model: the network.
        shards: the collection pass (its layer, photo folder and files).
        gathered: the codes pass, run with ``low`` = ``settings.low_photos``.
        recipe: the recipe the pictures were rendered with.
        out: the job's folder (the pictures are under it).
        settings: the judge, the trials, and ``references`` = 1.
        seed: the seed of the pictures (concept i starts from the noise of seed + i) and of the trials.
        progress: called with (concepts measured, concepts).
    Returns:
        The settings (or why nothing was measured) and each concept's measures.
    """
    why_not = trust_impossible(len(gathered.readable), settings)
    if why_not is not None:
        return f"not measured: {why_not}", {}
    stats = PhotoStats(gathered.exemplars, None, list(shards.files), None, gathered.lowest, gathered.readable)
    meter = TrustMeter(model, shards.settings["layer"], PhotoFolder(shards.root, names=shards.files), stats, settings, seed)
    folder = out / FOLDER
    measured = {}
    concepts = gathered.exemplars.mean_values.shape[0]
    pictures = torch.stack([Picture(np.asarray(Image.open(folder / f"{concept_name(i)}.png").convert("RGB"))).to_tensor()
                            for i in range(concepts)])
    sets = meter.single_sets(as_seen(recipe, model, pictures))
    noise = meter.single_sets(starting_noise(recipe, model, [seed + i for i in range(concepts)]))  # concept i: seed + i
    for i in range(concepts):
        name = concept_name(i)
        others = {o: sets[o] for o in other_units(i, list(range(concepts)))}
        unit_trust = meter.measure(i, sets[i], noise[i], others)
        if unit_trust.path is not None:
            path_plot(name, unit_trust.path, unit_trust.noise.path).save(folder / f"{name}.path.png")
        measured[i] = unit_trust.as_dict()
        if progress is not None:
            progress(i + 1, concepts)
    return settings.as_dict(), measured
