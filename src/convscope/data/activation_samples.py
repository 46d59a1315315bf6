"""Spatial activation vectors of one layer, sampled from a photo folder of any size in one
streaming pass: a few random positions of every photo, each kept with its photo and place.
The positions of photo i are drawn from a generator seeded by (seed, i), so the sample does
not depend on batch size or worker count; the pass is saved and reused."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from convscope.data.layer_files import load_layer_file, write_layer_file
from convscope.data.photo_stream import files_signature, nothing_readable, photo_batches, photo_files
from convscope.errors import OutOfRangeError
from convscope.models.base import VisionModel
from convscope.models.probe import Probe
from convscope.runtime.heap import reused_memory
from convscope.runtime.progress import Progress

SAMPLES_FILE = "samples.npz"


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
                      seed: int) -> dict:
    return {"model": model.name, "layer": layer, "samples": samples, "seed": seed, "size": model.input_size,
            "photos": len(files), "files_signature": files_signature(files, root), "precision": model.effective_precision}


def sample_activations(model: VisionModel, layer: str, photos_dir: str | Path, out: str | Path, *,
                       samples: int = 5000, seed: int = 0, batch: int = 32, workers: int = 2,
                       progress: Progress | None = None) -> ActivationSamples:
    """About ``samples`` vectors of ``layer``: ceil(samples / photos) random positions of every
    photo under ``photos_dir``, then ``samples`` of them drawn at random. Saved in ``out`` and
    read back by the same call with the same settings."""
    info = model.layer(layer)
    if not info.spatial:
        raise OutOfRangeError(f"layer {info.name} has no positions to sample: choose a conv layer (or a token layer)")
    if samples < 2:
        raise OutOfRangeError(f"{{samples}} must be at least 2, got {samples}", options=["samples"])
    root, out = Path(photos_dir), Path(out)
    files = photo_files(root)
    settings = sampling_settings(model, info.name, files, root, samples, seed)
    saved = _load(out, settings, root)
    if saved is not None:
        return saved
    per_photo = math.ceil(samples / len(files))
    vectors, photos, positions, skipped = [], [], [], []
    map_size = (0, 0)
    if progress is not None:
        progress(0, len(files))
    with torch.no_grad(), reused_memory(model.device), Probe(model, [info.name]) as probe:
        for part in photo_batches(files, model.input_size, batch, workers):
            skipped += [{"file": files[i].relative_to(root).as_posix(), "reason": r} for i, r in part.skipped]
            if len(part.indices):
                maps = probe(part.images(model.device))[info.name].float().cpu()
                h, w = map_size = int(maps.shape[-2]), int(maps.shape[-1])
                for photo, m in zip(part.indices.tolist(), maps):
                    where = _positions_of(seed, photo, min(per_photo, h * w), h, w)
                    vectors.append(m.flatten(1)[:, where].T)
                    photos.append(torch.full((len(where),), photo, dtype=torch.long))
                    positions.append(torch.stack((where // w, where % w), dim=1))
            if progress is not None:
                progress(min(len(files), (part.number + 1) * batch), len(files))
    if not vectors:
        raise nothing_readable(len(files), root, [entry["file"] for entry in skipped])
    all_vectors = torch.cat(vectors).numpy()
    keep = np.arange(len(all_vectors))
    if len(keep) > samples:
        keep = np.sort(np.random.default_rng(seed).choice(len(keep), samples, replace=False))
    result = ActivationSamples(info.name, all_vectors[keep], torch.cat(photos).numpy()[keep], torch.cat(positions).numpy()[keep],
                               [p.relative_to(root).as_posix() for p in files], root, skipped, map_size)
    _save(out, result, settings)
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
