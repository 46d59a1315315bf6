"""One pass over a photo source, in shards that merge: every command that reads a photo folder
(exemplars, the activation atlas's sample, concepts' vectors, the photo statistics of stats,
grid and twins, the atlas's measures of a layer, labels) runs through ``run_pass`` (several
at once through ``joint_pass``).

- A shard is ``SHARD_BATCHES`` consecutive batches. What a command keeps (a ``PassPart``) is
  computed for each shard from empty, wherever the shard is read: in this process, or as a
  task on a cluster (a ``ShardRunner``).
- The parts of consecutive shards merge, in photo order, to the bit what one process reading
  every batch in turn would keep. Shards that finish early wait for the ones before them.
- With a checkpoint file, the merged part, the next shard to merge and the shards finished
  early are saved every ``checkpoint_every`` batches (atomically), and the same call goes on
  from there after any stop, even ``kill -9``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol, Sequence

import torch

from convscope.data.photo_sources import PhotoSource
from convscope.errors import OutOfRangeError
from convscope.io.files import atomic_path
from convscope.models.base import VisionModel
from convscope.models.probe import Probe
from convscope.runtime.progress import Progress

SHARD_BATCHES = 4
SAVED_KINDS: list[Any] = []  # the classes a saved state may hold: the pass's own and the parts'


def saved_kind(cls: type) -> type:
    """Registers a class as one a saved state may hold (a class decorator)."""
    SAVED_KINDS.append(cls)
    return cls


@dataclass
class BatchSeen:
    """A batch as the pass sees it: the photos' indices (increasing), their images, the outputs
    of the pass's layers, and the probe that gave them (for more forwards, e.g. of turned images)."""

    indices: torch.Tensor
    images: torch.Tensor
    acts: dict[str, torch.Tensor]
    probe: Probe


class PassPart(Protocol):
    """What a pass keeps of some photos."""

    def add(self, model: VisionModel, seen: BatchSeen) -> None:
        """Takes a batch."""

    def merge(self, later: Any) -> None:
        """Folds in the part of the next shard (of the same kind)."""


class PhotoPass(Protocol):
    """A kind of pass: the layers it reads (in one forward each batch, stopped after the
    deepest) and an empty part. It travels to the cluster's workers, so it holds only data."""

    @property
    def layers(self) -> list[str]:
        """The layers read."""

    def empty(self) -> PassPart:
        """A part of no photos."""


@saved_kind
@dataclass
class ShardResult:
    """Shard ``number`` read: its part, the photos read, the photos skipped (index, reason), and
    those of them whose file was missing where the shard was read."""

    number: int
    part: Any
    read: int
    skipped: list[tuple[int, str]]
    missing: list[int]


@dataclass(frozen=True)
class ShardPlan:
    """How ``photos`` photos are cut: batches of ``batch``, shards of ``SHARD_BATCHES`` batches."""

    photos: int
    batch: int

    @property
    def shards(self) -> int:
        return -(-self.photos // (self.batch * SHARD_BATCHES))

    def batches(self, shard: int) -> tuple[int, int]:
        """The first batch of ``shard`` and the one after its last."""
        return shard * SHARD_BATCHES, (shard + 1) * SHARD_BATCHES

    def photo_range(self, shard: int) -> range:
        """The indices of the photos of ``shard``."""
        return range(shard * SHARD_BATCHES * self.batch, min(self.photos, (shard + 1) * SHARD_BATCHES * self.batch))


class ShardRunner(Protocol):
    """Reads shards of a source: where and how is its business; the results are the same."""

    def run(self, model: VisionModel, source: PhotoSource, spec: PhotoPass, plan: ShardPlan,
            shards: Sequence[int]) -> Iterator[ShardResult]:
        """Every shard of ``shards`` read, in any order."""


def read_shards(model: VisionModel, source: PhotoSource, spec: PhotoPass, plan: ShardPlan,
                shards: Sequence[int]) -> Iterator[ShardResult]:
    """``shards`` read here, in order; consecutive shards as one stream of batches."""
    runs: list[list[int]] = []
    for shard in sorted(shards):
        if runs and runs[-1][-1] == shard - 1:
            runs[-1].append(shard)
        else:
            runs.append([shard])
    with torch.no_grad(), Probe(model, spec.layers) as probe:
        for run in runs:
            result = None
            for batch in source.read(model, plan.batch, plan.batches(run[0])[0], plan.batches(run[-1])[1]):
                shard = batch.number // SHARD_BATCHES
                if result is None or result.number != shard:
                    if result is not None:
                        yield result
                    result = ShardResult(shard, spec.empty(), 0, [], [])
                result.skipped += batch.skipped
                result.missing += batch.missing
                if len(batch.indices):
                    result.part.add(model, BatchSeen(batch.indices, batch.images, probe(batch.images), probe))
                    result.read += len(batch.indices)
            if result is not None:
                yield result


class LocalShards:
    """Reads the shards in this process (the photos decoded in the source's worker processes)."""

    def run(self, model: VisionModel, source: PhotoSource, spec: PhotoPass, plan: ShardPlan,
            shards: Sequence[int]) -> Iterator[ShardResult]:
        return read_shards(model, source, spec, plan, shards)


@saved_kind
@dataclass
class PassState:
    """A pass so far: the part of shards 0 ... ``merged`` - 1, the photos read and skipped in
    them, and the shards finished early (waiting for the ones before them)."""

    part: Any
    merged: int = 0
    read: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)
    early: dict[int, ShardResult] = field(default_factory=dict)

    def take(self, result: ShardResult, on_merge: Callable[["PassState"], None] | None = None) -> None:
        """Keeps ``result``, and merges every shard that can now be merged, in order, calling
        ``on_merge`` after each."""
        self.early[result.number] = result
        while self.merged in self.early:
            shard = self.early.pop(self.merged)
            self.part.merge(shard.part)
            self.read += shard.read
            self.skipped += shard.skipped
            self.merged += 1
            if on_merge is not None:
                on_merge(self)


@dataclass(frozen=True)
class Checkpoint:
    """Where a pass keeps its state while it runs: the file, the settings the state belongs to
    (a saved state of other settings is an error), and the batches read between two saves."""

    path: Path
    settings: dict
    every: int = 20

    def save(self, state: PassState) -> None:
        """Writes ``state`` (with the settings it belongs to) atomically."""
        with atomic_path(self.path) as tmp:
            torch.save({"settings": self.settings, "state": state}, tmp)

    def load(self) -> PassState | None:
        """The state saved by a pass of these settings, or None when there is none.

        Raises:
            OutOfRangeError: the state of a pass with other settings (it names them and what to do).
        """
        if not self.path.is_file():
            return None
        with torch.serialization.safe_globals(SAVED_KINDS):
            saved = torch.load(self.path, weights_only=True)
        if saved["settings"] != self.settings:
            changed = [k for k in self.settings if saved["settings"].get(k) != self.settings[k]]
            raise OutOfRangeError(f"{self.path.parent} holds an unfinished pass with other settings "
                                  f"({', '.join(changed)}): give another {{out}}, or delete {self.path} to start again",
                                  options=["out"])
        return saved["state"]


def run_pass(model: VisionModel, source: PhotoSource, spec: PhotoPass, *, batch: int,
             checkpoint: Checkpoint | None = None, progress: Progress | None = None,
             on_merge: Callable[[PassState], None] | None = None) -> PassState:
    """Every photo of ``source`` through ``spec``, by the source's runner (default: here).

    Args:
        model: the network.
        source: the photos.
        spec: what the pass keeps.
        batch: photos per forward pass.
        checkpoint: where the state is saved as the pass goes, and read back to go on (None: it is not).
            Between two saves: what is merged, and the shards finished early.
        progress: called with (photos done, photos in all). It may stop the pass by raising: with
            a checkpoint, the state is saved first, and the same call goes on from it.
        on_merge: called after each shard is merged (in photo order, so what it does is the same
            whoever read the shards), before a save: e.g. to write what is complete.
    Returns:
        The merged state of every shard (and the reasons the source's photos were skipped are
        in its ``skipped``).
    Raises:
        OutOfRangeError: ``batch`` or the checkpoint's ``every`` not positive, or a saved state of other settings.
    """
    if batch <= 0 or (checkpoint is not None and checkpoint.every <= 0):
        raise OutOfRangeError("{batch} and {checkpoint_every} must be positive", options=["batch", "checkpoint_every"])
    plan = ShardPlan(len(source), batch)
    state = checkpoint.load() if checkpoint is not None else None
    state = state or PassState(spec.empty())
    pending = [s for s in range(state.merged, plan.shards) if s not in state.early]
    done = sum(len(plan.photo_range(s)) for s in range(plan.shards) if s not in pending)
    if progress is not None:
        progress(done, len(source))
    runner: ShardRunner = source.runner or LocalShards()
    unsaved = 0
    for result in runner.run(model, source, spec, plan, pending):
        state.take(result, on_merge)
        unsaved += SHARD_BATCHES
        done += len(plan.photo_range(result.number))
        if checkpoint is not None and unsaved >= checkpoint.every and done < len(source):
            checkpoint.save(state)
            unsaved = 0
        if progress is not None:
            _report(progress, done, len(source), checkpoint, state)
    source.skipped = [reason for _i, reason in state.skipped]
    return state


def _report(progress: Progress, done: int, total: int, checkpoint: Checkpoint | None, state: PassState) -> None:
    """Calls ``progress``; where it raises (its caller stops the pass there), the state is saved
    first, so that the pass goes on later from every shard merged so far."""
    try:
        progress(done, total)
    except BaseException:
        if checkpoint is not None:
            checkpoint.save(state)
        raise
