"""How long jobs report progress: callbacks, which the command line turns into its own bars, and
which the Python API turns into a ``tqdm.auto`` bar by default (a widget in Jupyter, text on
stderr in a terminal). The library never prints results."""
from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar, Union

Progress = Callable[[int, int], None]
"""Called with (done, in all), counted in the job's own unit: unit-steps of a render, photos
of a photo pass."""

StageProgress = Callable[[str, int, int], None]
"""Called with (stage, done, in all) by a job of several stages (such as "photos", "cells")."""

ProgressOption = Union[Callable[..., None], bool, None]
"""What a caller of the Python API gives as ``progress``: a callback (which replaces the bar),
False (nothing shown), or None or True (a bar)."""

Function = TypeVar("Function", bound=Callable[..., Any])


class Bar:
    """A ``tqdm.auto`` bar fed by a job's callback, whichever form it takes: (done, total),
    (done, total, anything more), or (stage, done, total), where each stage restarts the bar."""

    def __init__(self, label: str, unit: str) -> None:
        self.label, self.unit = label, unit
        self.stage: str | None = None
        self.bar: Any = None

    def update(self, *report: Any) -> None:
        """Takes one report of the job."""
        stage = report[0] if isinstance(report[0], str) else None
        done, total = (report[1], report[2]) if stage is not None else (report[0], report[1])
        if self.bar is None or stage != self.stage:
            self.close()
            from tqdm.auto import tqdm

            self.stage = stage
            self.bar = tqdm(total=total, desc=self.label if stage is None else f"{self.label}: {stage}", unit=self.unit,
                            leave=False, dynamic_ncols=True)
        if total != self.bar.total:  # a job that learns its size as it goes
            self.bar.total = total
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        """Ends the bar shown, if any."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def shows_progress(label: str, unit: str = "step", *names: str) -> Callable[[Function], Function]:
    """A decorator for an API function whose ``progress`` (and any keyword of ``names``) is a
    ``ProgressOption``: a bar by default, False for none, a callback to replace it.

    Args:
        label: the bar's name (the command's).
        unit: what the bar counts.
        names: more progress keywords of the function (the first is ``progress``).
    Returns:
        The decorator; the function keeps its name, docstring and signature.
    """
    keywords = ("progress", *names)

    def decorate(function: Function) -> Function:
        @functools.wraps(function)
        def call(*args: Any, **options: Any) -> Any:
            bars = [Bar(label if n == "progress" else f"{label}: {n.removesuffix('_progress')}", unit)
                    if options.get(n) is None or options.get(n) is True else None for n in keywords]
            for name, bar in zip(keywords, bars):
                if options.get(name) is False:
                    options[name] = None
                elif bar is not None:
                    options[name] = bar.update
            try:
                return function(*args, **options)
            finally:
                for bar in bars:
                    if bar is not None:
                        bar.close()

        call.__doc__ = (f"{function.__doc__ or ''}\n    Progress: a tqdm.auto bar by default (a widget in Jupyter, text on "
                        "stderr); progress=False shows none, and a callback replaces it.\n")
        return call  # type: ignore[return-value]

    return decorate


def stage(name: str, progress: StageProgress | None) -> Progress | None:
    """The (done, total) callback of one stage ``name`` of a staged progress (None for none)."""
    return None if progress is None else (lambda done, total: progress(name, done, total))
