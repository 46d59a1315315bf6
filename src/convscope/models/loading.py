"""Loading a network by name: the built-in models (they register themselves on import), timm
models, ONNX files and a user's own factory."""
from __future__ import annotations

from pathlib import Path

from convscope.errors import WeightsError, unknown
from convscope.models import DEFAULT_MODEL, efficientnet_lite, inception_v1, vgg  # noqa: F401 (they register their models)
from convscope.models.base import VisionModel
from convscope.models.onnx_models import load_onnx
from convscope.models.registry import MODELS
from convscope.models.timm_models import PREFIX as TIMM_PREFIX
from convscope.models.timm_models import load_timm
from convscope.models.user import load_factory
from convscope.runtime.devices import resolve_device
from convscope.runtime.precision import check as check_precision

NEEDS_WEIGHTS = tuple(name for name, entry in MODELS.items() if entry.needs_weights)
"""Models whose weights come from a file the user has (no package ships them)."""


def load_architecture(name: str) -> VisionModel:
    """A model's layers without its weights file, for listing them: untrained weights where
    no package ships them (VGG, InceptionV1); the others load as usual.

    Args:
        name: a built-in model.
    Returns:
        The VisionModel.
    """
    entry = MODELS.get(name)
    if entry is not None and entry.architecture is not None:
        return entry.architecture()
    return load(name)


def available() -> dict[str, str]:
    """The built-in models.

    Returns:
        Each model's name and one line about it.
    """
    return {name: entry.about for name, entry in MODELS.items()}


def load(name: str = DEFAULT_MODEL, weights: str | Path | None = None, device: str = "cpu",
         kernel_orientation: str = "auto", precision: str = "auto", preprocess: str | None = None,
         ) -> VisionModel:
    """A network with real weights, in eval mode, and everything needed to look inside it.

    Args:
        name: a built-in model (see ``available``), ``timm:NAME`` (any timm model),
            ``path/model.onnx``, or ``path/to/file.py:factory`` for a network of your own.
        weights: a weights file (.safetensors, .pth, or a Keras .h5 for VGG), for the built-in
            models that need one or to replace theirs.
        device: "cpu", "cuda", "cuda:N" or "auto".
        kernel_orientation: for Keras files: "auto" (detected), "as-stored" or "flipped".
        precision: the network's arithmetic (see ``convscope.runtime.precision``).
        preprocess: for ONNX files: imagenet, caffe-bgr, tf, none, or "mean=...;std=...".
    Returns:
        The VisionModel.
    Raises:
        UnknownNameError: an unknown model.
        WeightsError: weights that are missing or do not fit, or an option for another kind of model.
        MissingExtraError: timm or ONNX support is not installed.
    """
    check_precision(precision)  # before the weights load, so a typo fails at once
    device = resolve_device(device)
    is_onnx = name.lower().endswith(".onnx")
    if preprocess is not None and not is_onnx:
        raise WeightsError("{preprocess} is for ONNX files; other models bring their own preprocessing",
                           options=["preprocess"])
    if is_onnx:
        if weights is not None:
            raise WeightsError("{weights} is not for ONNX files: the weights are inside the file", options=["weights"])
        return load_onnx(name, preprocess).to(device).set_precision(precision)
    if name.startswith(TIMM_PREFIX):
        return load_timm(name, weights).to(device).set_precision(precision)
    if ".py:" in name:
        if weights is not None:
            raise WeightsError("{weights} is for the built-in models; a file.py:factory loads its own "
                               "(with convscope.models.read_weights)", options=["weights"])
        return load_factory(name).to(device).set_precision(precision)
    if name not in MODELS:
        error = unknown("model", name, MODELS)
        raise type(error)(f"{error} (or timm:NAME, path/model.onnx, path/to/file.py:factory)")
    model = MODELS[name].build(weights, kernel_orientation)
    return model.to(device).set_precision(precision)


def as_model(model: VisionModel | str) -> VisionModel:
    """A model from itself or its name.

    Args:
        model: a VisionModel, or a name that ``load`` takes.
    Returns:
        ``model`` itself, or the model of that name loaded with ``load``'s defaults.
    """
    return load(model) if isinstance(model, str) else model
