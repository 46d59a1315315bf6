"""The one loop of work on Ray: the network is put into the object store once, each piece of
work is a task that runs a function of the network wherever a worker takes it (with the
driver's thread count, so the same arithmetic, and on a GPU where the cluster gives tasks
one), results come back as they finish, and what is still pending when the caller stops is
cancelled. The atlas's renders and the photo passes' shards both run on it."""
from __future__ import annotations

from typing import Any, Callable, Generic, Iterable, Iterator, TypeVar

import torch

from convscope.jobs.cluster.connect import RayCluster
from convscope.models.base import VisionModel
from convscope.runtime.compile_settings import compile_mode, compiling

Key = TypeVar("Key")


def _on_worker(model: VisionModel, function: Callable[..., Any], threads: int, use_gpu: bool, mode: str,
               arguments: tuple) -> Any:
    """A task: ``function(model, *arguments)`` with the driver's threads and compile mode."""
    torch.set_num_threads(threads)
    if use_gpu:
        model = model.to("cuda")
    with compiling(mode):
        return function(model, *arguments)


class RayTasks(Generic[Key]):
    """Runs ``function(model, *arguments)`` as Ray tasks on ``cluster``, for one network.

    Args:
        cluster: the connection (reconnected here if a runner before closed it).
        model: the network every task gets (it travels once).
        function: a module-level function (Ray pickles it by reference).
    """

    def __init__(self, cluster: RayCluster, model: VisionModel, function: Callable[..., Any]) -> None:
        cluster.connect()
        self.cluster, self.ray, self.function = cluster, cluster.ray, function
        self.model_ref = self.ray.put(model)
        # each task is named after its function, as Ray's process titles and dashboard show it
        self.task = self.ray.remote(_on_worker).options(name=function.__name__, **cluster.task_options())
        self.threads, self.use_gpu = torch.get_num_threads(), cluster.gpus_per_task > 0

    def run(self, work: Iterable[tuple[Key, tuple]], busy: Callable[[int], None] | None = None,
            failed: Callable[[Key, Exception], Exception] | None = None) -> Iterator[tuple[Key, Any]]:
        """Submits every (key, arguments) of ``work`` and yields (key, result) as tasks finish.

        Args:
            work: each task's key (given back with its result) and the arguments after the model.
            busy: called before each wait with the tasks that can run at once.
            failed: the error to raise for a task that failed for good (default: Ray's own).
        Returns:
            An iterator of (key, result); closing it cancels the tasks still pending.
        """
        mode = compile_mode()
        pending = {self.task.remote(self.model_ref, self.function, self.threads, self.use_gpu, mode, arguments): key
                   for key, arguments in work}
        try:
            while pending:
                if busy is not None:
                    busy(min(len(pending), self.cluster.slots))
                ready, _ = self.ray.wait(list(pending), num_returns=1)
                key = pending.pop(ready[0])
                try:
                    result = self.ray.get(ready[0])
                except Exception as e:  # Ray wraps the task's error, or says the task was lost
                    if failed is None:
                        raise
                    raise failed(key, e) from e
                yield key, result
        finally:
            for ref in pending:
                self.ray.cancel(ref, force=True)
