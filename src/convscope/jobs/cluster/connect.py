"""A connection to a Ray cluster (``auto``: a local instance), checked before any work: the
address answers, the workers run convscope, and they have the GPUs asked for. Ray is
imported here (and by the runners that use a connection) alone, so the single-machine path
never needs it."""
from __future__ import annotations

import socket
from typing import Any

import torch

from convscope.errors import ConvscopeError
from convscope.io.user_code import user_modules

PROBE_TIMEOUT_S = 120
TASK_RETRIES = 3


class RayClusterError(ConvscopeError):
    """A Ray cluster that cannot run the work."""


def import_ray() -> Any:
    """The ray module.

    Raises:
        RayClusterError: Ray is not installed (the message says how to install it).
    """
    try:
        import ray
    except ImportError as e:
        raise RayClusterError("{ray} needs Ray: pip install 'convscope[ray]'", options=["ray"]) from e
    return ray


def check_reachable(address: str) -> None:
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


class RayCluster:
    """A checked connection: ``ray`` (the module), ``gpus_per_task``, ``task_cpus`` (the CPUs a
    task takes: as many as the threads it runs, the driver's, so the arithmetic is the driver's,
    but at most the CPUs of the largest node; one beside a GPU) and ``slots`` (tasks that run at
    once). Runners
    reconnect through ``connect`` when a runner before them closed it.

    Args:
        address: ``auto`` (start a local Ray instance) or a cluster's host:port.
        gpus_per_task: GPUs each task takes (0: tasks run on CPUs).
    Raises:
        RayClusterError: Ray missing, a bad or silent address, too few GPUs, or workers without convscope.
    """

    def __init__(self, address: str, gpus_per_task: float = 0.0) -> None:
        self.address, self.gpus_per_task = address, gpus_per_task
        self.ray = import_ray()
        if address != "auto":
            check_reachable(address)
        self.connect()
        resources = self.ray.cluster_resources()
        if gpus_per_task > 0 and resources.get("GPU", 0) < gpus_per_task:
            self.close()
            raise RayClusterError(f"{{gpus_per_task}} {gpus_per_task:g}, but the cluster has "
                                  f"{resources.get('GPU', 0):g} GPUs", options=["gpus_per_task"])
        probe = self.ray.remote(_probe).options(num_cpus=0)
        try:
            self.ray.get(probe.remote(), timeout=PROBE_TIMEOUT_S)
        except Exception as e:
            self.close()
            raise RayClusterError("the cluster's workers cannot run convscope; install it on every node "
                                  f"(pip install 'convscope[ray]'): {type(e).__name__}: {str(e).splitlines()[0]}") from e
        largest = max((node["Resources"].get("CPU", 0) for node in self.ray.nodes() if node["Alive"]), default=1)
        self.task_cpus = 1 if gpus_per_task else max(1, min(torch.get_num_threads(), int(largest)))
        self.slots = max(1, int(resources.get("GPU", 0) // gpus_per_task) if gpus_per_task
                         else int(resources.get("CPU", 1) // self.task_cpus))

    def connect(self) -> None:
        """Connects this process, unless it is connected, and sends the code of the users' files
        it has imported (a network or recipe file) with the tasks, by value."""
        for module in user_modules():
            self.ray.cloudpickle.register_pickle_by_value(module)
        if self.ray.is_initialized():
            return
        try:
            self.ray.init(address=None if self.address == "auto" else self.address, logging_level="ERROR",
                          log_to_driver=False, configure_logging=True, ignore_reinit_error=True,
                          **({"include_dashboard": False, "_node_ip_address": "127.0.0.1"}
                             if self.address == "auto" else {}))
        except Exception as e:  # Ray raises many kinds of errors while connecting
            raise RayClusterError(f"cannot connect to Ray at {self.address}: {type(e).__name__}: {e}") from e

    def task_options(self) -> dict:
        """The options of a task: its retries, its CPUs, and its GPUs where asked."""
        options: dict = {"max_retries": TASK_RETRIES, "num_cpus": self.task_cpus}
        if self.gpus_per_task:
            options["num_gpus"] = self.gpus_per_task
        return options

    def close(self) -> None:
        """Disconnects this process (a local instance stops)."""
        if self.ray.is_initialized():
            self.ray.shutdown()
