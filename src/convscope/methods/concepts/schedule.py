"""How long a dictionary trains, and where its training state is kept between epochs."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from convscope.io.files import atomic_path

MIN_STEPS = 4000  # minibatch steps an automatic number of epochs reaches at least
MAX_EPOCHS = 500


@dataclass(frozen=True)
class Training:
    """A dictionary's training settings.

    Attributes:
        concepts: atoms in the dictionary.
        k: active codes per vector (the SAE's TopK; the units baseline for both methods).
        epochs: passes over the vectors; None for enough to make MIN_STEPS steps.
        batch: vectors per step (fewer when there are fewer vectors).
        seed: the seed of the initialization and the minibatch order.
        device: where the training runs.
    """

    concepts: int
    k: int
    epochs: int | None = None
    batch: int = 1024
    seed: int = 0
    device: str = "cpu"

    def batch_for(self, count: int) -> int:
        """The minibatch size for ``count`` vectors: ``batch``, but at least 8 steps an epoch."""
        return max(1, min(self.batch, math.ceil(count / 8)))

    def epochs_for(self, count: int) -> int:
        """The epochs to run over ``count`` vectors."""
        if self.epochs is not None:
            return self.epochs
        steps = math.ceil(count / self.batch_for(count))
        return max(1, min(MAX_EPOCHS, math.ceil(MIN_STEPS / steps)))


Progress = Callable[[int, int], None]


def load_checkpoint(path: Path | None, settings: dict) -> dict | None:
    """The training state saved at ``path`` for the same settings, or None."""
    if path is None or not path.is_file():
        return None
    state = torch.load(path, weights_only=True, map_location="cpu")
    return state if state.get("settings") == settings else None


def save_checkpoint(path: Path | None, state: dict) -> None:
    """Writes the training state whole (or not at all)."""
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
