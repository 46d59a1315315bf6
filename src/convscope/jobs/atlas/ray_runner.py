"""Rendering an atlas's batches as Ray tasks, on a local Ray instance or a cluster.

Each batch is a task of ``jobs.cluster.tasks.RayTasks`` that renders its units wherever a
worker takes it (one GPU per task where asked), and sends the pictures and numbers back. The
driver alone writes the atlas folder. Ray is imported here and in ``jobs.cluster`` alone, so
the single-machine path never needs it.
"""
from __future__ import annotations

from typing import Callable, Iterator, Sequence

import torch

from convscope.engine.recipes import Recipe
from convscope.io.picture import Picture
from convscope.jobs.atlas.builder import BatchJob, render_batch
from convscope.jobs.cluster.connect import RayCluster
from convscope.jobs.cluster.tasks import RayTasks
from convscope.models.base import VisionModel
from convscope.runtime.precision import resolve as resolve_precision


class RayRunner:
    """Runs batches as Ray tasks on ``cluster``; yields each batch as it finishes. Closing it
    closes the connection."""

    def __init__(self, cluster: RayCluster, model: VisionModel, recipe: Recipe, seed: int) -> None:
        # the precision on the workers' device (a GPU with gpus_per_task)
        self.precision = resolve_precision(model.precision, torch.device("cuda" if cluster.gpus_per_task > 0 else "cpu"))
        self.cluster, self.recipe, self.seed = cluster, recipe, seed
        self.tasks: RayTasks[BatchJob] = RayTasks(cluster, model, render_batch)

    def close(self) -> None:
        self.cluster.close()

    def run(self, jobs: Sequence[BatchJob], progress: Callable[[float, int | None], None]
            ) -> Iterator[tuple[BatchJob, list[Picture], list[float]]]:
        work = [(job, (job, self.recipe, self.seed)) for job in jobs]
        for job, (pictures, finals) in self.tasks.run(work, busy=lambda slots: progress(0.0, slots)):
            yield job, pictures, finals


def ray_runner_factory(address: str | RayCluster, gpus_per_task: float = 0.0
                       ) -> Callable[[VisionModel, Recipe, int], RayRunner]:
    """A factory for ``build_atlas(runner_factory=...)``: on a connection of one's own to
    ``address``, or on a ``RayCluster`` already open (then ``gpus_per_task`` is its own)."""
    def factory(model: VisionModel, recipe: Recipe, seed: int) -> RayRunner:
        cluster = address if isinstance(address, RayCluster) else RayCluster(address, gpus_per_task)
        return RayRunner(cluster, model, recipe, seed)

    return factory
