"""The second pass over the photos, once the dictionary is learned: every photo's codes at
every position, for

- each concept's top photos by peak code (with where the peak is), over all photos;
- the measures on the held-out photos, for the concepts and for the units baseline;
- the maps of the first held-out photos, for the removal effects;
- for each class asked for, the photos the network gives that class (highest probability first),
  for the importance indices;
- each photo's mean code of every concept and, where the labels need it, the network's top
  class of the photo (``labels``);
- with circuits, the usual values of the layer and of the one its concepts' inputs come from
  (their statistics, ``usual_layers``);
- the code maps of every held-out photo, written as they come in float16 parts of
  HELD_OUT_PART photos (``held-out-codes/part-NNNNN.safetensors``: ``codes`` (n, K, H, W) and
  ``photos`` (n,), indices into the file list), so memory stays bounded.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from convscope.data.photo_pass import BatchSeen
from convscope.data.photo_stats import PhotoStats, layer_stats, stats_pass
from convscope.data.photo_stream import photo_batches
from convscope.data.unit_exemplars import LayerExemplars
from convscope.data.vector_shards import VectorShards
from convscope.io.files import atomic_path
from convscope.methods.concepts.dictionary import ConceptDictionary
from convscope.methods.concepts.effects import position_codes
from convscope.methods.concepts.measures import ReconstructionMeter, top_units
from convscope.models.base import VisionModel
from convscope.models.probe import Probe
from convscope.runtime.heap import reused_memory
from convscope.runtime.progress import Progress

HELD_OUT_CODES = "held-out-codes"
HELD_OUT_PART = 1024


class CodeParts:
    """Held-out photos' code maps, written to disk a part at a time."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.parts = folder, 0
        self.photos: list[int] = []
        self.codes: list[torch.Tensor] = []
        for old in folder.glob("part-*.safetensors"):
            old.unlink()

    def add(self, photo: int, codes: torch.Tensor) -> None:
        self.photos.append(photo)
        self.codes.append(codes.half().cpu())
        if len(self.photos) >= HELD_OUT_PART:
            self.flush()

    def flush(self) -> None:
        from safetensors.torch import save_file

        if not self.photos:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.folder / f"part-{self.parts:05d}.safetensors") as tmp:
            save_file({"codes": torch.stack(self.codes).contiguous(), "photos": torch.tensor(self.photos)}, str(tmp))
        self.parts += 1
        self.photos, self.codes = [], []


@dataclass
class KeptPhotos:
    """Photos kept with their maps: indices into the file list, (n, C, H, W) maps, (n, 3, S, S) images."""

    photos: list[int] = field(default_factory=list)
    maps: list[torch.Tensor] = field(default_factory=list)
    images: list[torch.Tensor] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)

    def add(self, photo: int, maps: torch.Tensor, image: torch.Tensor, score: float = 0.0) -> None:
        self.photos.append(photo)
        self.maps.append(maps)
        self.images.append(image)
        self.scores.append(score)

    def keep_best(self, count: int) -> None:
        """Only the ``count`` highest scores (ties: the lower photo index)."""
        order = sorted(range(len(self.photos)), key=lambda i: (-self.scores[i], self.photos[i]))[:count]
        for name in ("photos", "maps", "images", "scores"):
            values = getattr(self, name)
            setattr(self, name, [values[i] for i in order])

    def stacked(self) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.stack(self.maps), torch.stack(self.images)


@dataclass
class CodesPass:
    """What the pass gathered (see the module docstring)."""

    exemplars: LayerExemplars
    concepts: dict
    units: dict
    effect_photos: KeptPhotos
    class_photos: dict[int, KeptPhotos]
    lowest: LayerExemplars | None = None  # each concept's lowest photos by mean code (with ``low``)
    readable: list[int] = field(default_factory=list)  # the photos read
    photo_means: torch.Tensor | None = None  # (read, K) each photo's mean code, in the order of ``readable``
    predicted: torch.Tensor | None = None  # (read,) the network's top class of each, when asked
    usual: dict[str, PhotoStats] = field(default_factory=dict)  # the plan's usual layers' statistics


@dataclass(frozen=True)
class CodesPlan:
    """What the codes pass keeps: ``k`` units per vector for the baseline, ``top`` photos per
    concept, ``effect_photos`` held-out photos for the removal effects, ``class_photos`` photos
    of each class of ``classes``, each concept's ``low`` lowest photos by mean code (0: none),
    with ``predict`` the network's top class of every photo, and the statistics of the
    ``usual_layers`` (their units' usual values, for the concepts' circuits)."""

    k: int
    top: int
    effect_photos: int
    classes: list[int]
    class_photos: int
    low: int = 0
    predict: bool = False
    usual_layers: tuple[str, ...] = ()


def run_codes_pass(model: VisionModel, shards: VectorShards, dictionary: ConceptDictionary, plan: CodesPlan, *,
                   batch: int, workers: int, out: Path, progress: Progress | None = None) -> CodesPass:
    """One pass over the shards' photo folder (see the module docstring), in this process.

    Args:
        model: the network.
        shards: the collection pass (its layer, files and held-out photos).
        dictionary: the learned dictionary.
        plan: what the pass keeps.
        batch: photos per forward pass.
        workers: processes decoding photos.
        out: the job's folder (the held-out code maps go under it).
        progress: called with (photos done, photos in all).
    """
    k, top, effect_photos, classes, class_photos, low = (plan.k, plan.top, plan.effect_photos, plan.classes,
                                                         plan.class_photos, plan.low)
    info = model.layer(shards.settings["layer"])
    files = [shards.root / name for name in shards.files]
    held = set(shards.held_out.tolist())
    exemplars = LayerExemplars.empty(dictionary.concepts, top)
    lowest = LayerExemplars.empty(dictionary.concepts, low) if low > 0 else None
    readable: list[int] = []
    concept_meter, unit_meter = ReconstructionMeter(info.channels, dictionary.concepts), \
        ReconstructionMeter(info.channels, info.channels)
    kept = KeptPhotos()
    per_class = {c: KeptPhotos() for c in classes}
    usual = stats_pass(model, plan.usual_layers).empty() if plan.usual_layers else None
    wanted = list(dict.fromkeys([info.name, *plan.usual_layers] + (["logits"] if classes or plan.predict else [])))
    means: list[torch.Tensor] = []
    predicted: list[torch.Tensor] = []
    device_dictionary = dictionary.to(model.device)
    parts = CodeParts(out / HELD_OUT_CODES)
    with torch.no_grad(), reused_memory(model.device), Probe(model, wanted) as probe:
        for part in photo_batches(files, model.input_size, batch, workers):
            if len(part.indices):
                images = part.images(model.device)
                acts = probe(images)
                maps = info.as_used(acts[info.name]).float()
                codes = position_codes(device_dictionary, maps)
                exemplars.update(part.indices, codes.cpu())
                if lowest is not None:  # the highest of the negated means are the lowest means
                    lowest.update(part.indices, -codes.cpu())
                readable += part.indices.tolist()
                if usual is not None:
                    usual.add(model, BatchSeen(part.indices, images, acts, probe))
                means.append(codes.flatten(2).mean(dim=2).cpu())
                if plan.predict:
                    predicted.append(acts["logits"].argmax(dim=1).cpu())
                for row, photo in enumerate(part.indices.tolist()):
                    if photo in held:
                        _measure(maps[row], device_dictionary, k, concept_meter, unit_meter)
                        parts.add(photo, codes[row])
                        if len(kept.photos) < effect_photos:
                            kept.add(photo, maps[row].cpu(), images[row].cpu())
                if classes:
                    _keep_class_photos(per_class, acts["logits"].softmax(dim=1), part.indices, maps, images, class_photos)
            if progress is not None:
                progress(min(len(files), (part.number + 1) * batch), len(files))
    parts.flush()
    return CodesPass(exemplars, concept_meter.summary(), unit_meter.summary(), kept, per_class, lowest, readable,
                     torch.cat(means) if means else torch.empty(0, dictionary.concepts),
                     torch.cat(predicted) if plan.predict and predicted else None,
                     layer_stats(usual, shards.files) if usual is not None else {})


def _measure(maps: torch.Tensor, dictionary: ConceptDictionary, k: int, concepts: ReconstructionMeter,
             units: ReconstructionMeter) -> None:
    """Adds every position of one held-out photo's (C, H, W) maps to both meters."""
    vectors = maps.flatten(1).T
    codes = dictionary.encode(vectors)
    concepts.add(vectors, codes, dictionary.decode(codes))
    kept = top_units(vectors, k)
    units.add(vectors, kept, kept)


def _keep_class_photos(per_class: dict[int, KeptPhotos], probabilities: torch.Tensor, indices: torch.Tensor,
                       maps: torch.Tensor, images: torch.Tensor, count: int) -> None:
    """Adds the batch's photos whose top class is one of ``per_class``, keeping the ``count`` most probable."""
    best = probabilities.argmax(dim=1).tolist()
    for row, (photo, label) in enumerate(zip(indices.tolist(), best)):
        if label in per_class:
            per_class[label].add(photo, maps[row].cpu(), images[row].cpu(), float(probabilities[row, label]))
            per_class[label].keep_best(count)
