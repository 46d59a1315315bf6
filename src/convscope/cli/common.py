"""Shared pieces of the command line: errors, progress bars, option parsing, output."""
from __future__ import annotations

import argparse
import json
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Iterator

from convscope import api
from convscope.errors import ConvscopeError

if TYPE_CHECKING:
    from convscope.api.layer_jobs import RayShards


class CliError(ConvscopeError):
    """A bad command-line value."""


@dataclass
class Terminal:
    """What the command line shows, set once from the options: ``quiet`` (--quiet) hides the
    progress bars and the summary; ``started`` is when the command began, for its summary."""

    quiet: bool = False
    started: float = 0.0

    @property
    def bars_off(self) -> bool | None:
        """tqdm's ``disable``: True with --quiet, else None (off where stderr is not a terminal)."""
        return True if self.quiet else None

    def elapsed(self) -> str:
        """The time since the command began: '42.1 s' or '3 min 5 s'."""
        seconds = time.perf_counter() - self.started
        return f"{seconds:.1f} s" if seconds < 60 else f"{int(seconds // 60)} min {round(seconds % 60)} s"


TERMINAL = Terminal()


def configure_terminal(args: argparse.Namespace) -> None:
    """Sets ``TERMINAL`` from the parsed options, as the command starts."""
    TERMINAL.quiet = bool(getattr(args, "quiet", False))
    TERMINAL.started = time.perf_counter()


def say(text: str) -> None:
    """A line of the summary on stdout (nothing with --quiet)."""
    if not TERMINAL.quiet:
        print(text)


def fail(message: str) -> None:
    raise CliError(message)


@contextmanager
def ray_runner(args: argparse.Namespace, needs_photos: bool = False) -> Iterator["RayShards | None"]:
    """The runner on the cluster of --ray, checked now and disconnected at the end (None without
    --ray). ``needs_photos``: --ray only reads --photos here, so it needs them."""
    if args.ray is None:
        if args.gpus_per_task:
            fail("--gpus-per-task is for --ray")
        yield None
        return
    if needs_photos and args.photos is None:
        fail("--ray reads --photos on the cluster: give --photos DIR (the built-in photos are read here)")
    runner = api.on_ray(args.ray, args.gpus_per_task)
    try:
        yield runner
    finally:
        runner.cluster.close()


@contextmanager
def progress_bar(label: str, unit: str = "unit-step") -> Iterator:
    """A tqdm bar on stderr, fed through the library's (done, total) progress callback; a count
    that goes back (the next layer's pass) starts the bar again."""
    from tqdm import tqdm

    bar = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, desc=label, unit=unit, file=sys.stderr, dynamic_ncols=True,
                       disable=TERMINAL.bars_off, leave=False)
        if done < bar.n:
            bar.reset(total=total)
        if total != bar.total:  # a job that learns its size as it goes (a grid that drops filters)
            bar.total = total
        bar.update(done - bar.n)

    try:
        yield update
    finally:
        if bar is not None:
            bar.close()


def warn_skipped(notes: Iterable[str]) -> None:
    """A warning line per photo that could not be read."""
    for note in notes:
        print(f"warning: skipped {note}", file=sys.stderr)


def parse_units(text: str) -> list[int]:
    """'0-7', '3', '1,5,9' or '0-3,8' to a list of unit indices."""
    units: list[int] = []
    try:
        for part in text.split(","):
            if "-" in part:
                a, b = part.split("-")
                units += range(int(a), int(b) + 1)
            else:
                units.append(int(part))
    except ValueError:
        fail(f"cannot read units {text!r}: write them as 0-7, 3 or 1,5,9")
    if not units or min(units) < 0:
        fail(f"cannot read units {text!r}: give non-negative unit numbers such as 0-7")
    return units


def cli_recipe(args: argparse.Namespace, shape: bool = True) -> api.Recipe:
    """The recipe the options name, with every option given (``shape=False``: all but --size
    and --steps); a --spectrum file is read (and refused if it is not one) before any work."""
    sized = {"size": args.size, "steps": args.steps} if shape else {}
    return api.recipe_from(args.recipe, **sized, views=args.views, view_size=args.view_size,
                           crop_scale=args.crop_scale, crop_scale_end=args.crop_scale_end, noise=args.noise,
                           spectrum=args.spectrum)


def parse_size(text: str) -> int | tuple[int, int]:
    """'128' to 128, '192x128' (width x height) to (128, 192) as (height, width)."""
    parts = text.lower().replace(" ", "").split("x")
    try:
        values = [int(v) for v in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"cannot read size {text!r}: write 128 or WIDTHxHEIGHT such as 192x128")
    if len(values) not in (1, 2) or min(values) <= 0:
        raise argparse.ArgumentTypeError(f"cannot read size {text!r}: write 128 or WIDTHxHEIGHT such as 192x128")
    return values[0] if len(values) == 1 else (values[1], values[0])


def plural(count: int, word: str, words: str | None = None) -> str:
    """'1 layer', '2 layers'."""
    return f"{count} {word if count == 1 else (words or word + 's')}"


def load_model(args: argparse.Namespace) -> api.VisionModel:
    """The model the command names, with its notes (weights used, orientation) on stderr."""
    model = api.load(args.model, weights=args.weights, device=args.device,
                     kernel_orientation=args.kernel_orientation, precision=args.precision,
                     preprocess=args.preprocess)
    for note in model.notes:
        print(f"note: {note}", file=sys.stderr)
    return model


def emit(args: argparse.Namespace, data: object, text: str) -> None:
    """Prints JSON with --json; else the human text and the time the command took, unless --quiet."""
    if getattr(args, "json", False):
        print(json.dumps(data, indent=2))
    else:
        say(f"{text}\n(took {TERMINAL.elapsed()})")


def read_photo(path: str | None) -> tuple[object, str]:
    """The user's photo, or the built-in chelsea photo; with its name."""
    if path is None:
        return api.builtin_photo("chelsea").pixels, "chelsea (built-in)"
    pixels, notes = api.load_photo(path)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    return pixels, path
