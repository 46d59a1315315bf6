"""Rendering an atlas's batches as Ray tasks, on a local Ray instance or a cluster.

The network goes to Ray's object store once; each batch is a task that renders its units
wherever a worker takes it (one GPU per task where asked), and sends the pictures and
numbers back. The driver streams the photos for the statistics (the folder need not be
on the workers) and alone writes the atlas folder. Ray is imported
here alone, so the single-machine path never needs it.
"""
from __future__ import annotations

import socket
from typing import Callable, Iterator, Sequence

import torch

from convscope.engine.recipes import Recipe
from convscope.errors import ConvscopeError
from convscope.io.picture import Picture
from convscope.jobs.atlas.builder import BatchJob, render_batch
from convscope.models.base import VisionModel
from convscope.runtime.compile_settings import compile_mode, compiling
from convscope.runtime.precision import resolve as resolve_precision

PROBE_TIMEOUT_S = 120
TASK_RETRIES = 3


class RayClusterError(ConvscopeError):
    """A Ray cluster that cannot run the atlas."""


def _import_ray():
    try:
        import ray
    except ImportError as e:
        raise RayClusterError("{ray} needs Ray: pip install 'convscope[ray]'", options=["ray"]) from e
    return ray


def _check_reachable(address: str) -> None:
    """Fails at once, with a clear message, when nothing listens at host:port."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise RayClusterError(f"{{ray}} {address!r}: give auto, or a cluster address such as 10.0.0.5:6379",
                              options=["ray"])
    try:
        with socket.create_connection((host, int(port)), timeout=5):
            pass
    except OSError as e:
        raise RayClusterError(f"no Ray cluster answers at {address} ({e.strerror or e}); start one with "
                              "'ray start --head' or check the address") from e


def _probe() -> dict:
    """Runs on a worker: the versions there (importing convscope fails where it is not installed)."""
    from importlib.metadata import version

    import convscope.models  # noqa: F401 - the import is the check

    return {"convscope": version("convscope"), "torch": torch.__version__}


def _render_task(model: VisionModel, job: BatchJob, recipe: Recipe, seed: int, threads: int, use_gpu: bool,
                 compile_mode: str) -> tuple[list[Picture], list[float]]:
    torch.set_num_threads(threads)  # the driver's thread count: the same arithmetic, the same pixels
    if use_gpu:
        model = model.to("cuda")
    with compiling(compile_mode):  # the driver's compile mode
        return render_batch(model, job, recipe, seed)


class RayRunner:
    """Runs batches as Ray tasks; yields each batch as it finishes."""

    def __init__(self, address: str, model: VisionModel, recipe: Recipe, seed: int,
                 gpus_per_task: float = 0.0) -> None:
        # the precision on the workers' device (a GPU with gpus_per_task), checked before connecting
        self.precision = resolve_precision(model.precision, torch.device("cuda" if gpus_per_task > 0 else "cpu"))
        ray = self.ray = _import_ray()
        if address != "auto":
            _check_reachable(address)
        try:
            ray.init(address=None if address == "auto" else address, logging_level="ERROR", log_to_driver=False,
                     configure_logging=True, ignore_reinit_error=True,
                     **({"include_dashboard": False, "_node_ip_address": "127.0.0.1"} if address == "auto" else {}))
        except Exception as e:  # Ray raises many kinds of errors while connecting
            raise RayClusterError(f"cannot connect to Ray at {address}: {type(e).__name__}: {e}") from e
        resources = ray.cluster_resources()
        if gpus_per_task > 0 and resources.get("GPU", 0) < gpus_per_task:
            self.close()
            raise RayClusterError(f"{{gpus_per_task}} {gpus_per_task:g}, but the cluster has "
                                  f"{resources.get('GPU', 0):g} GPUs", options=["gpus_per_task"])
        probe = ray.remote(_probe).options(num_cpus=0)
        try:
            ray.get(probe.remote(), timeout=PROBE_TIMEOUT_S)
        except Exception as e:
            self.close()
            raise RayClusterError("the cluster's workers cannot run convscope; install it on every node "
                                  f"(pip install 'convscope[ray]'): {type(e).__name__}: {str(e).splitlines()[0]}") from e
        self.slots = max(1, int(resources.get("GPU", 0) // gpus_per_task) if gpus_per_task
                         else int(resources.get("CPU", 1)))
        self.recipe, self.seed, self.threads = recipe, seed, torch.get_num_threads()
        self.use_gpu = gpus_per_task > 0
        self.compile_mode = compile_mode()
        self.model_ref = ray.put(model)  # the weights travel once
        options = {"max_retries": TASK_RETRIES, "num_gpus": gpus_per_task} if gpus_per_task else \
            {"max_retries": TASK_RETRIES}
        self._render = ray.remote(_render_task).options(**options)

    def close(self) -> None:
        if self.ray.is_initialized():
            self.ray.shutdown()

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


def ray_runner_factory(address: str, gpus_per_task: float = 0.0
                       ) -> Callable[[VisionModel, Recipe, int], RayRunner]:
    """A factory for ``build_atlas(runner_factory=...)``."""
    return lambda model, recipe, seed: RayRunner(address, model, recipe, seed, gpus_per_task)
