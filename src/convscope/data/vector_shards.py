"""A layer's activation vectors from a photo folder of any size, in one streaming pass, written
to disk in shards so that memory does not grow with the folder.

- A seeded share of the *photos* is held out (for measures); they give no training vectors.
- The training photos give at most ``samples`` vectors, spread evenly: the j-th of T training
  photos gives floor((j+1)S/T) - floor(jS/T) positions (all of its map when it has fewer),
  drawn from a generator seeded by (seed, photo), so the sample does not depend on batch size,
  worker count or who read the photo.
- Vectors are read after the layer's activation function where the network has one that
  convscope reads before (e.g. efficientnet-lite's ``head`` after its ReLU6); token layers give
  their patch tokens (class and register tokens are left out).
- The photos are read by ``photo_pass`` (here, or on a cluster's workers); the vectors of its
  shards are appended in photo order, and a vector shard file (float16 safetensors, an eighth
  of the samples each, from 256 to 16,384 vectors) is closed at the first pass-shard boundary
  past that size. The pass's checkpoint holds the files closed and the vectors not yet
  written, so a stop (even ``kill -9``) resumes to the same bytes; a finished pass with the
  same settings is reused.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from convscope.data.photo_pass import BatchSeen, Checkpoint, PassState, run_pass, saved_kind
from convscope.data.photo_sources import PhotoFolder, as_folder
from convscope.data.photo_stream import files_signature, nothing_readable
from convscope.errors import OutOfRangeError
from convscope.io.files import atomic_path, write_json
from convscope.models.base import VisionModel
from convscope.runtime.progress import Progress

SHARD_VECTORS = 16384  # a shard closes at the first photo-batch boundary past this many vectors,
MIN_SHARD_VECTORS = 256  # or past an eighth of the samples, when that is fewer (but not below this)
SUMMARY = "vectors.json"
STATE = "vectors-state.pt"


def held_out_photos(count: int, share: float, seed: int) -> np.ndarray:
    """The sorted indices of the photos held out: round(share * count) of them (at least one
    when the share is above zero), drawn with ``seed``."""
    if share <= 0:
        return np.zeros(0, dtype=np.int64)
    chosen = max(1, round(share * count))
    return np.sort(np.random.default_rng(seed).permutation(count)[:chosen]).astype(np.int64)


def positions_of(seed: int, photo: int, count: int, cells: int) -> torch.Tensor:
    """``count`` of a map's ``cells`` positions (flat indices), drawn for ``photo`` with ``seed``."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + photo)
    return torch.randperm(cells, generator=generator)[:count]


@dataclass
class VectorShards:
    """A finished pass: the shards' files and what they hold.

    Attributes:
        folder: where the shards are.
        settings: what made them (model, layer, samples, seed, held-out share, photos, ...).
        shards: the shard files, in order.
        count: vectors in all.
        channels: each vector's length.
        files: the photos, relative to ``root``.
        root: the photo folder.
        held_out: indices (into ``files``) of the held-out photos.
        skipped: unreadable files, each {"file", "reason"}.
        smallest: the smallest value in any vector.
        map_size: the layer's (height, width) at the input size.
    """

    folder: Path
    settings: dict
    shards: list[Path]
    count: int
    channels: int
    files: list[str]
    root: Path
    held_out: np.ndarray
    skipped: list[dict]
    smallest: float
    map_size: tuple[int, int]

    def minibatches(self, size: int, epoch: int, seed: int) -> Iterator[torch.Tensor]:
        """Every vector once as float32 (n, C) minibatches: the shards in a seeded order, each
        shuffled, so one shard is in memory at a time."""
        from safetensors.torch import load_file

        generator = torch.Generator().manual_seed(seed * 7919 + epoch)
        carry: torch.Tensor | None = None
        for number in torch.randperm(len(self.shards), generator=generator).tolist():
            vectors = load_file(str(self.shards[number]))["vectors"].float()
            vectors = vectors[torch.randperm(len(vectors), generator=generator)]
            if carry is not None:
                vectors = torch.cat([carry, vectors])
            whole = len(vectors) // size * size
            for start in range(0, whole, size):
                yield vectors[start:start + size]
            carry = vectors[whole:] if whole < len(vectors) else None
        if carry is not None and len(carry):
            yield carry

    def shard(self, number: int) -> dict[str, torch.Tensor]:
        """Shard ``number``: its ``vectors`` (n, C) float16, ``photos`` (n,) and ``positions`` (n, 2)."""
        from safetensors.torch import load_file

        return load_file(str(self.shards[number]))


def shard_settings(model: VisionModel, layer: str, files: list[Path], root: Path, samples: int, held_out: float,
                   seed: int, batch: int) -> dict:
    """What identifies a pass: a pass with other settings is not reused."""
    return {"model": model.name, "layer": layer, "samples": samples, "held_out": held_out, "seed": seed,
            "size": model.input_size, "batch": batch, "photos": len(files),
            "files_signature": files_signature(files, root), "precision": model.effective_precision}


@saved_kind
@dataclass
class CollectedVectors:
    """The vectors of some photos (a photo pass's part): per batch, the sampled vectors (float16),
    their photos and (y, x) positions; and on the driver, the shard files written so far."""

    layer: str
    counts: tuple[int, float, int, int]  # photos, held-out share, samples, seed: what gives each photo's quota
    batches: list[dict[str, torch.Tensor]] = field(default_factory=list)
    smallest: float | None = None
    map_size: list[int] | None = None
    written: list[str] = field(default_factory=list)
    count: int = 0

    def add(self, model: VisionModel, seen: BatchSeen) -> None:
        maps = model.layer(self.layer).as_used(seen.acts[self.layer]).float().cpu()
        self.map_size = [int(maps.shape[-2]), int(maps.shape[-1])]
        taken = _take(maps, seen.indices, _photo_quotas(*self.counts), self.counts[3])
        if len(taken["vectors"]):
            low = float(taken["vectors"].min())
            self.smallest = low if self.smallest is None else min(self.smallest, low)
        self.batches.append({**taken, "vectors": taken["vectors"].half()})

    def merge(self, later: "CollectedVectors") -> None:
        self.batches += later.batches
        if later.smallest is not None:
            self.smallest = later.smallest if self.smallest is None else min(self.smallest, later.smallest)
        self.map_size = later.map_size or self.map_size

    def buffered(self) -> int:
        """Vectors not yet written."""
        return sum(len(b["photos"]) for b in self.batches)


@dataclass(frozen=True)
class CollectionPass:
    """The photo pass of ``collect_vectors``."""

    layer: str
    counts: tuple[int, float, int, int]

    @property
    def layers(self) -> list[str]:
        return [self.layer]

    def empty(self) -> CollectedVectors:
        return CollectedVectors(self.layer, self.counts)


@lru_cache(maxsize=2)
def _photo_quotas(photos: int, held_out: float, samples: int, seed: int) -> np.ndarray:
    """Each photo's number of vectors (see ``_quotas``), computed once per process."""
    return _quotas(photos, held_out_photos(photos, held_out, seed), samples)


@dataclass(frozen=True)
class VectorDraw:
    """Which vectors a collection pass keeps: at most ``samples`` training vectors, with a
    ``held_out`` share of the photos (0 to below 1) kept apart, both drawn with ``seed``."""

    samples: int
    held_out: float = 0.1
    seed: int = 0


def collect_vectors(model: VisionModel, layer: str, photos: PhotoFolder | str | Path, out: str | Path,
                    draw: VectorDraw, *, batch: int = 32, progress: Progress | None = None) -> VectorShards:
    """The pass (see the module docstring), into ``out``; the same call continues a stopped pass
    and returns a finished one.

    Args:
        model: the network.
        layer: a layer with positions.
        photos: the photo folder, read with its subfolders (a ``PhotoFolder`` says how many
            processes decode it and where it is read, e.g. on a Ray cluster; the files are the same).
        out: the folder of the shards.
        draw: the vectors kept and the photos held out.
        batch: photos per forward pass.
        progress: called with (photos done, photos in all).
    Returns:
        The shards.
    Raises:
        OutOfRangeError: a layer without positions, or ``out`` holding a pass of other settings.
        ImageInputError: an empty folder, or one with no readable photo.
    """
    info = model.layer(layer)
    if not info.spatial:
        raise OutOfRangeError(f"layer {info.name} has no positions to learn concepts from: choose a conv layer "
                              "(or a token layer)")
    source, out = as_folder(photos), Path(out)
    root, samples, held_out, seed = source.root, draw.samples, draw.held_out, draw.seed
    settings = shard_settings(model, info.name, source.files, root, samples, held_out, seed, batch)
    finished = _finished(out, settings, root)
    if finished is not None:
        return finished
    held = held_out_photos(len(source), held_out, seed)
    if len(held) >= len(source):
        raise OutOfRangeError(f"a held-out share of {held_out} leaves no training photo of the {len(source)}: "
                              "give a smaller {held_out} or more photos", options=["held_out"])
    shard_vectors = min(SHARD_VECTORS, max(MIN_SHARD_VECTORS, samples // 8))

    def write_full_shards(state: PassState) -> None:
        if state.part.buffered() >= shard_vectors:
            _close_shard(out, state.part)

    spec = CollectionPass(info.name, (len(source), held_out, samples, seed))
    state = run_pass(model, source, spec, batch=batch, checkpoint=Checkpoint(out / STATE, settings),
                     progress=progress, on_merge=write_full_shards)
    skipped = [{"file": source.names[i], "reason": r} for i, r in state.skipped]
    if state.read == 0:
        (out / STATE).unlink(missing_ok=True)
        raise nothing_readable(len(source), root, [entry["file"] for entry in skipped])
    part = state.part
    if part.buffered():
        _close_shard(out, part)
    summary = {**settings, "root": str(root.resolve()), "files": source.names, "held_out_photos": held.tolist(),
               "skipped": skipped, "shards": part.written, "count": part.count,
               "channels": info.channels, "smallest": part.smallest, "map_size": part.map_size}
    write_json(out / SUMMARY, summary)
    (out / STATE).unlink(missing_ok=True)
    return _from_summary(out, summary, root)


def _quotas(count: int, held: np.ndarray, samples: int) -> np.ndarray:
    """Vectors asked of each photo: none of a held-out one, ``samples`` spread over the rest."""
    quota = np.zeros(count, dtype=np.int64)
    training = np.setdiff1d(np.arange(count), held)
    j = np.arange(len(training) + 1)
    quota[training] = np.diff(j * samples // len(training))
    return quota


def _take(maps: torch.Tensor, indices: torch.Tensor, quota: np.ndarray, seed: int) -> dict[str, torch.Tensor]:
    """The sampled vectors of a batch's maps, with their photos and (y, x) positions."""
    h, w = maps.shape[-2:]
    vectors, photos, positions = [], [], []
    for photo, m in zip(indices.tolist(), maps):
        wanted = min(int(quota[photo]), h * w)
        if wanted == 0:
            continue
        where = positions_of(seed, photo, wanted, h * w)
        vectors.append(m.flatten(1)[:, where].T)
        photos.append(torch.full((wanted,), photo, dtype=torch.long))
        positions.append(torch.stack((where // w, where % w), dim=1))
    if not vectors:
        return {"vectors": torch.zeros(0, maps.shape[1]), "photos": torch.zeros(0, dtype=torch.long),
                "positions": torch.zeros(0, 2, dtype=torch.long)}
    return {"vectors": torch.cat(vectors), "photos": torch.cat(photos), "positions": torch.cat(positions)}


def _close_shard(out: Path, part: CollectedVectors) -> None:
    """Writes the buffered vectors as the next shard file and empties the buffer."""
    from safetensors.torch import save_file

    tensors = {key: torch.cat([b[key] for b in part.batches]).contiguous() for key in ("vectors", "photos", "positions")}
    name = f"shard-{len(part.written):05d}.safetensors"
    with atomic_path(out / name) as tmp:
        save_file(tensors, str(tmp))
    part.written.append(name)
    part.count += len(tensors["photos"])
    part.batches = []


def _other_settings(out: Path, saved: dict, wanted: dict) -> OutOfRangeError:
    changed = [f"{k} {saved.get(k)!r} there, {wanted[k]!r} now" for k in wanted if saved.get(k) != wanted[k]]
    return OutOfRangeError(f"{out} holds vectors collected with other settings ({'; '.join(changed)}): give another "
                           "{out}, or the same settings", options=["out"])


def _finished(out: Path, settings: dict, root: Path) -> VectorShards | None:
    """The finished pass in ``out``, if it has these settings; a finished pass of other settings is an error."""
    path = out / SUMMARY
    if not path.is_file():
        return None
    summary = json.loads(path.read_text())
    saved = {k: summary.get(k) for k in settings}
    if saved != settings:
        raise _other_settings(out, saved, settings)
    return _from_summary(out, summary, root)


def _from_summary(out: Path, summary: dict, root: Path) -> VectorShards:
    settings = {k: summary[k] for k in ("model", "layer", "samples", "held_out", "seed", "size", "batch", "photos",
                                        "files_signature", "precision")}
    smallest = summary["smallest"] if summary["smallest"] is not None else 0.0
    return VectorShards(out, settings, [out / name for name in summary["shards"]], int(summary["count"]),
                        int(summary["channels"]), summary["files"], root,
                        np.array(summary["held_out_photos"], dtype=np.int64), summary["skipped"], float(smallest),
                        tuple(summary["map_size"]))
