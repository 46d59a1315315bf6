"""Spatial activation vectors of one layer, sampled from a photo folder of any size in one
streaming pass: a few random positions of every photo, each kept with its photo and place.
The positions of photo i are drawn from a generator seeded by (seed, i), so the sample does
not depend on batch size, worker count or who read the photo (here, or a cluster's worker:
see ``photo_pass``); a stopped pass resumes, and the finished sample is saved and reused."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from convscope.data.layer_files import load_layer_file, write_layer_file
from convscope.data.photo_pass import BatchSeen, Checkpoint, run_pass, saved_kind
from convscope.data.photo_sources import PhotoFolder, as_folder
from convscope.data.photo_stream import files_signature, nothing_readable
from convscope.errors import OutOfRangeError
from convscope.models.base import VisionModel
from convscope.runtime.progress import Progress

SAMPLES_FILE = "samples.npz"
STATE_FILE = "samples-state.pt"


@dataclass
class ActivationSamples:
    """N sampled vectors of a layer: (N, C) values, the photo (index into ``files``) and the
    (y, x) map position each came from."""

    layer: str
    vectors: np.ndarray  # (N, C) float32
    photos: np.ndarray  # (N,) int64
    positions: np.ndarray  # (N, 2) int64
    files: list[str]  # relative to ``root``
    root: Path
    skipped: list[dict]
    map_size: tuple[int, int]


def _positions_of(seed: int, photo: int, count: int, h: int, w: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed * 1_000_003 + photo)
    return torch.randperm(h * w, generator=generator)[:count]


def sampling_settings(model: VisionModel, layer: str, files: list[Path], root: Path, samples: int,
                      seed: int, batch: int) -> dict:
    """What identifies a sample: one of other settings is not reused."""
    return {"model": model.name, "layer": layer, "samples": samples, "seed": seed, "size": model.input_size,
            "batch": batch,
            "photos": len(files), "files_signature": files_signature(files, root), "precision": model.effective_precision}


@saved_kind
@dataclass
class SampledVectors:
    """The vectors sampled from some photos (a photo pass's part): ``per_photo`` positions of
    each photo's map of ``layer``, drawn with ``seed``, with their photos and (y, x) places."""

    layer: str
    per_photo: int
    seed: int
    vectors: list[torch.Tensor] = field(default_factory=list)
    photos: list[torch.Tensor] = field(default_factory=list)
    positions: list[torch.Tensor] = field(default_factory=list)
    map_size: tuple[int, int] = (0, 0)

    def add(self, model: VisionModel, seen: BatchSeen) -> None:
        maps = seen.acts[self.layer].float().cpu()
        h, w = self.map_size = int(maps.shape[-2]), int(maps.shape[-1])
        for photo, m in zip(seen.indices.tolist(), maps):
            where = _positions_of(self.seed, photo, min(self.per_photo, h * w), h, w)
            self.vectors.append(m.flatten(1)[:, where].T)
            self.photos.append(torch.full((len(where),), photo, dtype=torch.long))
            self.positions.append(torch.stack((where // w, where % w), dim=1))

    def merge(self, later: "SampledVectors") -> None:
        self.vectors += later.vectors
        self.photos += later.photos
        self.positions += later.positions
        self.map_size = later.map_size if later.vectors else self.map_size


@dataclass(frozen=True)
class SamplingPass:
    """The photo pass of ``sample_activations``."""

    layer: str
    per_photo: int
    seed: int

    @property
    def layers(self) -> list[str]:
        return [self.layer]

    def empty(self) -> SampledVectors:
        return SampledVectors(self.layer, self.per_photo, self.seed)


def sample_activations(model: VisionModel, layer: str, photos: PhotoFolder | str | Path, out: str | Path, *,
                       samples: int = 5000, seed: int = 0, batch: int = 32,
                       progress: Progress | None = None) -> ActivationSamples:
    """About ``samples`` vectors of ``layer``: ceil(samples / photos) random positions of every
    photo of the folder, then ``samples`` of them drawn at random. Saved in ``out`` and read back
    by the same call with the same settings; a stopped pass goes on from its last checkpoint.

    Args:
        model: the network.
        layer: a layer with positions.
        photos: the folder (a ``PhotoFolder`` says how many processes decode it and where it is
            read, e.g. on a Ray cluster; the sample is the same), read with its subfolders.
        out: the folder of the sample.
        samples: the vectors kept, 2 or more.
        seed: the seed of the positions and of the draw.
        batch: photos per forward pass.
        progress: called with (photos done, photos in all).
    Returns:
        The sample.
    """
    info = model.layer(layer)
    if not info.spatial:
        raise OutOfRangeError(f"layer {info.name} has no positions to sample: choose a conv layer (or a token layer)")
    if samples < 2:
        raise OutOfRangeError(f"{{samples}} must be at least 2, got {samples}", options=["samples"])
    source, out = as_folder(photos), Path(out)
    root = source.root
    settings = sampling_settings(model, info.name, source.files, root, samples, seed, batch)
    saved = _load(out, settings, root)
    if saved is not None:
        return saved
    spec = SamplingPass(info.name, math.ceil(samples / len(source)), seed)
    state = run_pass(model, source, spec, batch=batch, checkpoint=Checkpoint(out / STATE_FILE, settings), progress=progress)
    skipped = [{"file": source.names[i], "reason": r} for i, r in state.skipped]
    if state.read == 0:
        (out / STATE_FILE).unlink(missing_ok=True)
        raise nothing_readable(len(source), root, [entry["file"] for entry in skipped])
    part = state.part
    all_vectors = torch.cat(part.vectors).numpy()
    keep = np.arange(len(all_vectors))
    if len(keep) > samples:
        keep = np.sort(np.random.default_rng(seed).choice(len(keep), samples, replace=False))
    result = ActivationSamples(info.name, all_vectors[keep], torch.cat(part.photos).numpy()[keep],
                               torch.cat(part.positions).numpy()[keep], source.names, root, skipped, part.map_size)
    _save(out, result, settings)
    (out / STATE_FILE).unlink(missing_ok=True)
    return result


def _save(out: Path, result: ActivationSamples, settings: dict) -> None:
    meta = {**settings, "files": result.files, "root": str(result.root.resolve()), "skipped": result.skipped,
            "map_size": list(result.map_size)}
    write_layer_file(out / SAMPLES_FILE, {"vectors": result.vectors, "photos": result.photos,
                                          "positions": result.positions}, meta)


def _load(out: Path, settings: dict, root: Path) -> ActivationSamples | None:
    path = out / SAMPLES_FILE
    if not path.is_file():
        return None
    arrays, meta = load_layer_file(path)
    if {k: meta.get(k) for k in settings} != settings:
        return None
    return ActivationSamples(meta["layer"], arrays["vectors"], arrays["photos"], arrays["positions"], meta["files"], root,
                             meta["skipped"], tuple(meta["map_size"]))
