"""The built-in model families register themselves here, each where it is defined:

    @register_model("vgg16", "VGG16, ...", architecture=lambda: architecture("vgg16"))
    def vgg16(weights, kernel_orientation): ...

``convscope.models.load`` then finds a model by its name, and a new family is one new file
that registers its models (and one import in ``convscope.models``)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

from convscope.models.base import VisionModel


class Builder(Protocol):
    """Builds a registered model from a weights file (None: the weights its package ships) and
    a Keras file's kernel orientation ("auto", "as-stored" or "flipped")."""

    def __call__(self, weights: str | Path | None, kernel_orientation: str) -> VisionModel: ...


@dataclass(frozen=True)
class RegisteredModel:
    """A built-in model: its builder, one line about it, and for a model whose weights no
    package ships, how to build its untrained architecture (to list its layers)."""

    name: str
    about: str
    build: Builder
    architecture: Callable[[], VisionModel] | None = None

    @property
    def needs_weights(self) -> bool:
        """Whether its weights come from a file the user has."""
        return self.architecture is not None


MODELS: dict[str, RegisteredModel] = {}


def register_model(name: str, about: str, *,
                   architecture: Callable[[], VisionModel] | None = None) -> Callable[[Builder], Builder]:
    """A decorator that registers its builder as the built-in model ``name``.

    Args:
        name: the model's name, as ``load`` and the command line take it.
        about: one line for ``convscope models``.
        architecture: for a model whose weights no package ships, its untrained architecture.
    Returns:
        The decorator (it returns the builder unchanged).
    """
    def register(build: Builder) -> Builder:
        if name in MODELS:
            raise ValueError(f"model {name!r} is registered twice")
        MODELS[name] = RegisteredModel(name, about, build, architecture)
        return build

    return register
