"""ONNX files (a model named ``path/model.onnx``), converted to PyTorch by onnx2torch, so networks
exported from Keras, TensorFlow or JAX (keras export, tf2onnx) can be looked into."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import torch

from convscope.errors import MissingExtraError, OutOfRangeError, WeightsError
from convscope.models.base import VisionModel
from convscope.models.labels import imagenet_labels
from convscope.models.user import wrap

# name -> (mean, std, colour order): the network's input is ((x * scale) - mean) / std per channel
PRESETS: dict[str, tuple[tuple[float, ...], tuple[float, ...], float, bool]] = {
    "imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225), 1.0, False),
    "caffe-bgr": ((103.939, 116.779, 123.68), (1.0, 1.0, 1.0), 255.0, True),
    "tf": ((127.5, 127.5, 127.5), (127.5, 127.5, 127.5), 255.0, False),
    "none": ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0), 1.0, False),
}


def parse_preprocess(text: str | None) -> Callable[[torch.Tensor], torch.Tensor]:
    """A preset name (imagenet, caffe-bgr, tf, none) or explicit "mean=0.5,0.5,0.5;std=0.25,0.25,0.25"
    on RGB in [0, 1]; default imagenet."""
    text = (text or "imagenet").strip()
    if text in PRESETS:
        mean, std, scale, bgr = PRESETS[text]
    else:
        try:
            fields = dict(part.split("=", 1) for part in text.split(";"))
            mean = tuple(float(v) for v in fields["mean"].split(","))
            std = tuple(float(v) for v in fields["std"].split(","))
        except (KeyError, ValueError) as e:
            raise OutOfRangeError(f"unknown {{preprocess}} {text!r}: use {', '.join(PRESETS)} or "
                                  "'mean=0.485,0.456,0.406;std=0.229,0.224,0.225'", options=["preprocess"]) from e
        if len(mean) != 3 or len(std) != 3 or min(abs(v) for v in std) == 0:
            raise OutOfRangeError(f"{{preprocess}} needs three means and three non-zero stds, got {text!r}",
                                  options=["preprocess"])
        scale, bgr = 1.0, False
    mean_t, std_t = torch.tensor(mean).view(1, 3, 1, 1), torch.tensor(std).view(1, 3, 1, 1)

    def preprocess(x: torch.Tensor) -> torch.Tensor:
        x = x.flip(1) if bgr else x
        return (x * scale - mean_t.to(x)) / std_t.to(x)
    return preprocess


def _input_size(graph) -> int:
    """The square input size the graph declares (224 when it leaves it open)."""
    dims = graph.input[0].type.tensor_type.shape.dim
    sizes = [d.dim_value for d in dims[2:]] if len(dims) == 4 else []
    return sizes[0] if len(sizes) == 2 and sizes[0] == sizes[1] and sizes[0] > 0 else 224


def load_onnx(path: str | Path, preprocess: str | None = None) -> VisionModel:
    """The network in an ONNX file, with ``preprocess`` (see ``parse_preprocess``); layer names
    come from the graph's nodes."""
    try:
        import onnx
        import onnx2torch
    except ImportError as e:
        raise MissingExtraError("ONNX files need onnx and onnx2torch: pip install 'convscope[onnx]'") from e
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"ONNX file not found: {path}")
    transform = parse_preprocess(preprocess)
    try:
        graph = onnx.load(str(path))
    except Exception as e:  # protobuf raises its own errors on a broken file
        raise WeightsError(f"{path} is not a readable ONNX file ({type(e).__name__})") from e
    try:
        net = onnx2torch.convert(graph)
    except NotImplementedError as e:
        raise WeightsError(f"{path} uses an operator that onnx2torch cannot convert: {str(e).splitlines()[0]}; "
                           "export the network without it, or load it in PyTorch as a model file.py:factory") from e
    size = _input_size(graph.graph)
    model = wrap(net, preprocess=transform, input_size=size, name=path.name)
    classes = model.layer("logits").channels
    if classes == 1000:
        model.labels = imagenet_labels()
    model.description = f"ONNX {path.name}, {size} px (preprocess {preprocess or 'imagenet'})"
    return model
