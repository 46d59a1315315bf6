"""One worker thread for the explorer's torch work, off the request path. A job is keyed by what
it computes, so two pages asking for the same thing share one run; a job goes on when the page
that asked for it closes; progress is read by whoever asks."""
from __future__ import annotations

import itertools
import queue
import threading
from dataclasses import dataclass, field
from typing import Callable

from convscope.errors import ConvscopeError

Progress = Callable[[int, int], None]
STOP_SECONDS = 60.0  # the longest a stop waits for the running job to reach its next report


class Stopped(ConvscopeError):
    """Raised inside a job's work when the explorer stops: the job ends where it is."""


class Report:
    """What a job's work tells while it runs: its progress, and a picture of how it stands. When
    the explorer stops, the next report raises ``Stopped``, which ends the work there (every
    file is written whole, so a restart goes on from what was finished)."""

    def __init__(self, job: "Job", stopping: threading.Event | None = None) -> None:
        self.job, self.stopping = job, stopping or threading.Event()

    def progress(self, done: int, total: int) -> None:
        self._check()
        self.job.done, self.job.total = done, total

    def stage(self, name: str) -> None:
        """What part of the work runs now (shown beside its progress), with no progress yet."""
        self._check()
        self.job.stage, self.job.done, self.job.total = name, 0, 0

    def preview(self, url: str, value: float | None = None) -> None:
        """The address of a picture of the work as it stands (it changes as the work goes), and
        the value it scores then."""
        self._check()
        self.job.preview, self.job.preview_value = url, value

    def _check(self) -> None:
        if self.stopping.is_set():
            raise Stopped("the explorer stopped")


Work = Callable[[Report], dict]


@dataclass
class Job:
    """A piece of work: its id (its key), kind and title, its state ("queued", "running", "done"
    or "failed"), the part of it running, its progress and picture so far, and its result or
    error."""

    id: str
    kind: str
    title: str
    work: Work = field(repr=False)
    state: str = "queued"
    stage: str | None = None
    done: int = 0
    total: int = 0
    result: dict | None = None
    error: str | None = None
    preview: str | None = None
    preview_value: float | None = None

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed")

    def to_json(self) -> dict:
        return {"id": self.id, "kind": self.kind, "title": self.title, "state": self.state, "stage": self.stage,
                "done": self.done, "total": self.total, "result": self.result, "error": self.error,
                "preview": self.preview, "preview_value": self.preview_value}


class Worker:
    """Runs jobs one at a time in a thread of its own; a job a person waits to watch (``urgent``)
    goes before the queued ones, though not before the one running."""

    def __init__(self) -> None:
        self.jobs: dict[str, Job] = {}
        self._queue: queue.PriorityQueue[tuple[int, int, Job | None]] = queue.PriorityQueue()
        self._order = itertools.count()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="convscope-worker", daemon=True)
        self._thread.start()

    def submit(self, key: str, kind: str, title: str, work: Work, urgent: bool = False) -> Job:
        """The job that computes ``key``: the one queued, running or done for it already, or a new one
        (a failed job is tried again), queued before the others when ``urgent``."""
        with self._lock:
            found = self.jobs.get(key)
            if found is not None and found.state != "failed":
                return found
            job = Job(key, kind, title, work)
            self.jobs[key] = job
        self._queue.put((0 if urgent else 1, next(self._order), job))
        return job

    def stop(self, wait: float = STOP_SECONDS) -> None:
        """Stops the job running at its next report, drops the queued ones, and waits up to
        ``wait`` seconds for the thread to end."""
        self._stopping.set()
        self._queue.put((-1, next(self._order), None))
        self._thread.join(wait)

    def _loop(self) -> None:
        while True:
            _priority, _order, job = self._queue.get()
            if job is None:
                return
            job.state = "running"
            try:
                job.result = job.work(Report(job, self._stopping))
                job.state = "done"
            except ConvscopeError as error:
                job.error, job.state = str(error), "failed"
            except Exception as error:  # a job's failure is reported on its page, and the worker goes on
                job.error, job.state = f"{type(error).__name__}: {error}", "failed"
