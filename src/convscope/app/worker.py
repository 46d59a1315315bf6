"""One worker thread for the explorer's torch work, off the request path. A job is keyed by what
it computes, so two pages asking for the same thing share one run; a job goes on when the page
that asked for it closes; progress is read by whoever asks. A job a person waits for goes
first, and a layer's render gives way to it at once (``Report.give_way``)."""
from __future__ import annotations

import functools
import itertools
import queue
import threading
from dataclasses import dataclass, field
from typing import Callable

from convscope.errors import ConvscopeError

Progress = Callable[[int, int], None]
STOP_SECONDS = 60.0  # the longest a stop waits for the running job to reach its next report
WATCHED, WAITED, QUEUED = 0, 1, 2
"""Job priorities, first first: a picture a person watches form, a part a page waits for, the rest."""


class Stopped(ConvscopeError):
    """Raised inside a job's work when the explorer stops: the job ends where it is."""


class Deferred(BaseException):
    """Raised inside a job's work where it may stop, when a job that goes before it is waiting:
    the job goes back to the queue, and its work starts again later from what its files hold.
    Not an Exception, so no handler of failures mistakes it for one."""


class Report:
    """What a job's work tells while it runs: its progress, and a picture of how it stands. When
    the explorer stops, the next report raises ``Stopped``, which ends the work there (every
    file is written whole, so a restart goes on from what was finished).

    Args:
        job: the job.
        stopping: set when the explorer stops.
        waiting: whether a job that goes before this one waits (see ``give_way``).
    """

    def __init__(self, job: "Job", stopping: threading.Event | None = None,
                 waiting: Callable[[], bool] = lambda: False) -> None:
        self.job, self.stopping, self._waiting = job, stopping or threading.Event(), waiting

    def progress(self, done: int, total: int) -> None:
        self._check()
        self.job.done, self.job.total = done, total

    def stage(self, name: str) -> None:
        """What part of the work runs now (shown beside its progress), with no progress yet."""
        self._check()
        self.job.stage, self.job.done, self.job.total = name, 0, 0

    def progress_in(self, stage: str, done: int, total: int) -> None:
        """The progress of the part ``stage`` of the work, which starts (see ``stage``) where
        another part ran until now."""
        if self.job.stage != stage:
            self.stage(stage)
        self.progress(done, total)

    def preview(self, url: str, value: float | None = None) -> None:
        """The address of a picture of the work as it stands (it changes as the work goes), and
        the value it scores then."""
        self._check()
        self.job.preview, self.job.preview_value = url, value

    def give_way(self) -> None:
        """Called by long work where it may stop (everything finished is written whole): raises
        ``Deferred`` when a job that goes before this one waits."""
        self._check()
        if self._waiting():
            raise Deferred

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
    priority: int = QUEUED

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed")

    def to_json(self) -> dict:
        return {"id": self.id, "kind": self.kind, "title": self.title, "state": self.state, "stage": self.stage,
                "done": self.done, "total": self.total, "result": self.result, "error": self.error,
                "preview": self.preview, "preview_value": self.preview_value}


class Worker:
    """Runs jobs one at a time in a thread of its own, by priority (WATCHED, WAITED, QUEUED), each
    in the order asked; the job running gives way to one that goes before it where its work
    says it may (``Report.give_way``), then goes on first of those of its priority."""

    def __init__(self) -> None:
        self.jobs: dict[str, Job] = {}
        self._queue: queue.PriorityQueue[tuple[int, int, Job | None]] = queue.PriorityQueue()
        self._order = itertools.count()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="convscope-worker", daemon=True)
        self._thread.start()

    def submit(self, key: str, kind: str, title: str, work: Work, priority: int = QUEUED) -> Job:
        """The job that computes ``key``: the one queued, running or done for it already, or a new one
        (a failed job is tried again), queued at ``priority``."""
        with self._lock:
            found = self.jobs.get(key)
            if found is not None and found.state != "failed":
                return found
            job = Job(key, kind, title, work, priority=priority)
            self.jobs[key] = job
        self._queue.put((priority, next(self._order), job))
        return job

    def _waits_before(self, job: Job) -> bool:
        """Whether a job that goes before ``job`` (or the stop) waits."""
        with self._queue.mutex:
            return bool(self._queue.queue) and self._queue.queue[0][0] < job.priority

    def stop(self, wait: float = STOP_SECONDS) -> None:
        """Stops the job running at its next report, drops the queued ones, and waits up to
        ``wait`` seconds for the thread to end."""
        self._stopping.set()
        self._queue.put((WATCHED - 1, next(self._order), None))
        self._thread.join(wait)

    def _loop(self) -> None:
        while True:
            _priority, _order, job = self._queue.get()
            if job is None:
                return
            job.state = "running"
            try:
                job.result = job.work(Report(job, self._stopping, functools.partial(self._waits_before, job)))
                job.state = "done"
            except Deferred:  # back in the queue, before the others of its priority
                job.state = "queued"
                self._queue.put((job.priority, -next(self._order), job))
            except ConvscopeError as error:
                job.error, job.state = str(error), "failed"
            except Exception as error:  # a job's failure is reported on its page, and the worker goes on
                job.error, job.state = f"{type(error).__name__}: {error}", "failed"
