"""A photo pass's shards read as Ray tasks (a ``photo_pass.ShardRunner``): the driver lists the
folder; each task gets its shard's file names and reads them from the same path on whatever
node runs it, and sends back the shard's part. ``photo_pass`` merges the parts in photo
order, so the result is the same bytes as a pass in one process, whatever the number of
workers and the order the tasks finish in.

A lost worker's tasks are retried by Ray; a task that fails for good, or photos that a worker
cannot find, stop the pass with a one-line error that names the photos.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator, Sequence

from convscope.data.photo_pass import PhotoPass, ShardPlan, ShardResult, read_shards
from convscope.data.photo_sources import PhotoFolder, PhotoSource, SourceBatch
from convscope.data.photo_stream import photo_batches
from convscope.jobs.cluster.connect import TASK_RETRIES, RayCluster, RayClusterError
from convscope.jobs.cluster.tasks import RayTasks
from convscope.models.base import VisionModel
from convscope.runtime.heap import reused_memory

SHOWN = 3  # photos named in an error


class ShardFiles(PhotoSource):
    """The photos of one shard, as a worker reads them: ``names`` (relative to ``root``, an
    absolute path) are photos ``start``, ``start`` + 1, ... of the whole folder, and ``start``
    is a batch boundary. The reasons a photo is skipped name it under ``shown``, the folder as
    the driver's user gave it, as a pass in one process would."""

    def __init__(self, root: str, shown: str, names: list[str], start: int) -> None:
        self.root, self.shown, self.names, self.start = root, shown, names, start
        self.skipped = []

    def read(self, model: VisionModel, batch: int, first: int = 0, stop: int | None = None) -> Iterator[SourceBatch]:
        files = [Path(self.root) / name for name in self.names]
        offset = self.start // batch
        with reused_memory(model.device):
            for part in photo_batches(files, model.input_size, batch, 0, first - offset,
                                      None if stop is None else stop - offset):
                skipped = [(i + self.start, reason.replace(str(files[i]), str(Path(self.shown) / self.names[i])))
                           for i, reason in part.skipped]
                yield SourceBatch(part.number + offset, part.indices + self.start, part.images(model.device), skipped,
                                  [i + self.start for i in part.missing])


def _read_task(model: VisionModel, files: ShardFiles, spec: PhotoPass, plan: ShardPlan, shard: int) -> ShardResult:
    return next(read_shards(model, files, spec, plan, [shard]))


class RayShards:
    """Reads shards of a photo folder as Ray tasks on ``cluster``."""

    def __init__(self, cluster: RayCluster) -> None:
        self.cluster = cluster

    def run(self, model: VisionModel, source: PhotoSource, spec: PhotoPass, plan: ShardPlan,
            shards: Sequence[int]) -> Iterator[ShardResult]:
        if not isinstance(source, PhotoFolder):
            raise TypeError("a Ray runner reads photo folders")
        tasks: RayTasks[int] = RayTasks(self.cluster, model, _read_task)
        root, shown = str(source.root.resolve()), str(source.root)
        work = []
        for shard in shards:
            photos = plan.photo_range(shard)
            files = ShardFiles(root, shown, source.names[photos.start:photos.stop], photos.start)
            work.append((shard, (files, spec, plan, shard)))
        for _shard, result in tasks.run(work, failed=lambda shard, error: _failed(source, plan, shard, error)):
            if result.missing:
                raise _unseen(source, result.missing)
            yield result


def _failed(source: PhotoFolder, plan: ShardPlan, shard: int, error: Exception) -> RayClusterError:
    photos = plan.photo_range(shard)
    names = source.names[photos.start:photos.stop]
    cause = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
    return RayClusterError(f"photos {photos.start + 1}-{photos.stop} of the folder ({', '.join(names[:SHOWN])}"
                           f"{', ...' if len(names) > SHOWN else ''}) failed on the cluster after {TASK_RETRIES} "
                           f"retries: {cause}")


def _unseen(source: PhotoFolder, missing: list[int]) -> RayClusterError:
    names = [source.names[i] for i in missing]
    return RayClusterError(f"a Ray worker cannot see {len(names)} of the photos under {source.root.resolve()} "
                           f"({', '.join(names[:SHOWN])}{', ...' if len(names) > SHOWN else ''}): put the folder at "
                           "the same path on every node (a shared file system, or a copy on each), or run without "
                           "{ray}", options=["ray"])
