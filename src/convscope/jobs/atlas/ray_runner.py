"""Rendering an atlas's batches as Ray tasks, on a local Ray instance or a cluster.

The network goes to Ray's object store once; each batch is a task that renders its units
wherever a worker takes it (one GPU per task where asked), and sends the pictures and
numbers back. The driver alone writes the atlas folder. Ray is imported here and in
``jobs.cluster`` alone, so the single-machine path never needs it.
"""
from __future__ import annotations

from typing import Callable, Iterator, Sequence

import torch

from convscope.engine.recipes import Recipe
from convscope.io.picture import Picture
from convscope.jobs.atlas.builder import BatchJob, render_batch
from convscope.jobs.cluster.connect import RayCluster
from convscope.models.base import VisionModel
from convscope.runtime.compile_settings import compile_mode, compiling
from convscope.runtime.precision import resolve as resolve_precision


def _render_task(model: VisionModel, job: BatchJob, recipe: Recipe, seed: int, threads: int, use_gpu: bool,
                 compile_mode: str) -> tuple[list[Picture], list[float]]:
    torch.set_num_threads(threads)  # the driver's thread count: the same arithmetic, the same pixels
    if use_gpu:
        model = model.to("cuda")
    with compiling(compile_mode):  # the driver's compile mode
        return render_batch(model, job, recipe, seed)


class RayRunner:
    """Runs batches as Ray tasks on ``cluster``; yields each batch as it finishes. Closing it
    closes the connection."""

    def __init__(self, cluster: RayCluster, model: VisionModel, recipe: Recipe, seed: int) -> None:
        self.cluster, self.ray = cluster, cluster.ray
        # the precision on the workers' device (a GPU with gpus_per_task)
        self.precision = resolve_precision(model.precision, torch.device("cuda" if cluster.gpus_per_task > 0 else "cpu"))
        cluster.connect()
        self.slots = cluster.slots
        self.recipe, self.seed, self.threads = recipe, seed, torch.get_num_threads()
        self.use_gpu = cluster.gpus_per_task > 0
        self.compile_mode = compile_mode()
        self.model_ref = self.ray.put(model)  # the weights travel once
        self._render = self.ray.remote(_render_task).options(**cluster.task_options())

    def close(self) -> None:
        self.cluster.close()

    def run(self, jobs: Sequence[BatchJob], progress: Callable[[float, int | None], None]
            ) -> Iterator[tuple[BatchJob, list[Picture], list[float]]]:
        pending = {self._render.remote(self.model_ref, job, self.recipe, self.seed, self.threads, self.use_gpu,
                                       self.compile_mode): job
                   for job in jobs}
        try:
            while pending:
                progress(0.0, min(len(pending), self.slots))
                ready, _ = self.ray.wait(list(pending), num_returns=1)
                job = pending.pop(ready[0])
                pictures, finals = self.ray.get(ready[0])
                yield job, pictures, finals
        finally:
            for ref in pending:
                self.ray.cancel(ref, force=True)


def ray_runner_factory(address: str | RayCluster, gpus_per_task: float = 0.0
                       ) -> Callable[[VisionModel, Recipe, int], RayRunner]:
    """A factory for ``build_atlas(runner_factory=...)``: on a connection of one's own to
    ``address``, or on a ``RayCluster`` already open (then ``gpus_per_task`` is its own)."""
    def factory(model: VisionModel, recipe: Recipe, seed: int) -> RayRunner:
        cluster = address if isinstance(address, RayCluster) else RayCluster(address, gpus_per_task)
        return RayRunner(cluster, model, recipe, seed)

    return factory
