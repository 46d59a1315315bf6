"""VGG weights from the files people have, converted to torchvision's layout with h5py and torch.

Formats, detected from the file itself:

- the article's Keras 0.3 file (``vgg16_weights.h5``): root attribute ``nb_layers``, groups
  ``layer_{k}`` with ``param_0`` (W) and ``param_1`` (b); conv W is (out, in, rows, cols),
  dense W is (in, out); Caffe preprocessing. Whether its kernels are stored flipped is not
  settled, so both orientations are offered for detection;
- keras.applications files (Keras 1/2): ``layer_names`` and per-layer ``weight_names``
  attributes (possibly chunked, possibly under ``model_weights/``); tf kernels are
  (3, 3, in, out) and fc1's rows are in (H, W, C) order; th kernels are (out, in, 3, 3)
  and flipped; Caffe preprocessing;
- torchvision checkpoints, read with ``weights_only=True``; ImageNet mean/std preprocessing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from convscope.errors import WeightsError
from convscope.models.weights import read_weights

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
ORIENTATIONS = ("auto", "as-stored", "flipped")


@dataclass
class LoadedWeights:
    format: str
    preprocess: str  # "caffe" or "torchvision"
    orientations: dict[str, dict[str, torch.Tensor]]  # one state_dict, or one per candidate orientation
    has_classifier: bool
    notes: list[str] = field(default_factory=list)

    @property
    def state_dict(self) -> dict[str, torch.Tensor]:
        return next(iter(self.orientations.values()))


def conv_indices(convs_per_block: tuple[int, ...]) -> list[int]:
    """torchvision ``features`` indices of the conv layers."""
    indices, i = [], 0
    for count in convs_per_block:
        for _ in range(count):
            indices.append(i)
            i += 2
        i += 1
    return indices


def read_vgg_weights(path: Path, name: str, convs_per_block: tuple[int, ...],
                     orientation: str = "auto") -> LoadedWeights:
    """Reads ``path`` in whichever supported format it is, as torchvision state_dicts."""
    if orientation not in ORIENTATIONS:
        raise WeightsError(f"kernel orientation must be one of {', '.join(ORIENTATIONS)}, got {orientation!r}")
    if not path.is_file():
        raise WeightsError(f"weights file not found: {path}")
    with open(path, "rb") as f:
        head = f.read(8)
    if head == HDF5_MAGIC:
        return _read_h5(path, name, convs_per_block, orientation)
    if head[:2] == b"PK" or head[:1] == b"\x80" or path.suffix.lower() == ".safetensors":
        sd = read_weights(path)
        kind = "torchvision safetensors" if path.suffix.lower() == ".safetensors" else "torchvision checkpoint"
        return LoadedWeights(kind, "torchvision", {"as-stored": sd}, "classifier.0.weight" in sd)
    raise WeightsError(f"{path} is in none of the known layouts: use a Keras .h5 file (the article's "
                       "vgg16_weights.h5 or keras.applications' vgg16_weights_tf_dim_ordering_tf_kernels.h5) "
                       "or a torchvision .pth or .safetensors file")


def _read_h5(path: Path, name: str, convs_per_block: tuple[int, ...], orientation: str) -> LoadedWeights:
    import h5py

    try:
        with h5py.File(path, "r") as f:
            if "nb_layers" in f.attrs:
                fmt, layers = "Keras 0.3 weights", _keras03_layers(f)
                kernels = "article"
            else:
                group = f["model_weights"] if "model_weights" in f else f
                if not _has_attr_list(group.attrs, "layer_names"):
                    raise WeightsError(f"{path} is an HDF5 file but not Keras weights (no nb_layers or "
                                       "layer_names attribute)")
                layers = _keras12_layers(group)
                kernels = "tf" if layers and layers[0][0].ndim == 4 and layers[0][0].shape[:2] == (3, 3) else "th"
                fmt = f"Keras weights, {kernels} kernels"
    except (OSError, KeyError, ValueError) as e:
        raise WeightsError(f"{path} is not a readable HDF5 file (truncated or corrupt?): {e}") from e
    convs = [(w, b) for w, b in layers if w.ndim == 4]
    dense = [(w, b) for w, b in layers if w.ndim == 2]
    expected = sum(convs_per_block)
    if len(convs) != expected or len(dense) not in (0, 3):
        raise WeightsError(f"{path} holds {len(convs)} conv and {len(dense)} dense layers; {name} has "
                           f"{expected} conv layers and 3 (or, without its classifier, 0) dense layers")
    if kernels == "tf":
        convs = [(w.transpose(3, 2, 0, 1), b) for w, b in convs]
    dense = [(w.T, b) for w, b in dense]
    if kernels == "tf" and dense:
        w, b = dense[0]
        side = int(round((w.shape[1] // 512) ** 0.5))
        dense[0] = (w.reshape(w.shape[0], side, side, 512).transpose(0, 3, 1, 2).reshape(w.shape[0], -1), b)
    notes = []
    candidates: tuple[str, ...]
    if kernels == "article" and orientation == "auto":
        if dense:
            candidates = ("as-stored", "flipped")
        else:
            candidates = ("as-stored",)
            notes.append("kernel orientation: as stored (the file has no classifier to detect it with; "
                         "name the kernel orientation flipped to force it)")
    elif orientation == "auto":
        candidates = ("flipped",) if kernels == "th" else ("as-stored",)
    else:
        candidates = (orientation,)
    classifier = _classifier_state(dense)  # the same for either orientation: copied once
    orientations = {o: {**_conv_state(convs, convs_per_block, flip=o == "flipped"), **classifier} for o in candidates}
    return LoadedWeights(fmt, "caffe", orientations, bool(dense), notes)


def _conv_state(convs: list, convs_per_block: tuple[int, ...], flip: bool) -> dict[str, torch.Tensor]:
    """The conv layers' tensors, their kernels flipped or as stored."""
    sd = {}
    for index, (w, b) in zip(conv_indices(convs_per_block), convs):
        if flip:
            w = w[:, :, ::-1, ::-1]
        sd[f"features.{index}.weight"] = torch.from_numpy(np.ascontiguousarray(w, dtype=np.float32))
        sd[f"features.{index}.bias"] = torch.from_numpy(np.ascontiguousarray(b, dtype=np.float32))
    return sd


def _classifier_state(dense: list) -> dict[str, torch.Tensor]:
    """The dense layers' tensors; torch copies the transposed matrices (about three times as fast
    as numpy's copy of a transposed view, for fc6's 25088 x 4096)."""
    sd = {}
    for index, (w, b) in zip((0, 3, 6), dense):
        sd[f"classifier.{index}.weight"] = torch.from_numpy(np.asarray(w, dtype=np.float32)).contiguous()
        sd[f"classifier.{index}.bias"] = torch.from_numpy(np.ascontiguousarray(b, dtype=np.float32))
    return sd


def _keras03_layers(f) -> list[tuple[np.ndarray, np.ndarray]]:
    """(W, b) of every layer with parameters, in order."""
    layers = []
    for k in range(int(f.attrs["nb_layers"])):
        group = f[f"layer_{k}"]
        if int(group.attrs.get("nb_params", 0)) == 0:
            continue
        layers.append((group["param_0"][()], group["param_1"][()]))
    return layers


def _has_attr_list(attrs, name: str) -> bool:
    return name in attrs or f"{name}0" in attrs


def _attr_list(attrs, name: str) -> list[str]:
    """A string-list attribute, joined from its chunks ``name0``, ``name1``, ... when split."""
    if name in attrs:
        values = list(attrs[name])
    else:
        values, i = [], 0
        while f"{name}{i}" in attrs:
            values += list(attrs[f"{name}{i}"])
            i += 1
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values]


def _keras12_layers(group) -> list[tuple[np.ndarray, np.ndarray]]:
    """(kernel, bias) of every layer with weights, in ``layer_names`` order, found by their names."""
    layers = []
    for layer_name in _attr_list(group.attrs, "layer_names"):
        g = group[layer_name]
        names = _attr_list(g.attrs, "weight_names")
        if not names:
            continue
        kernel = next((n for n in names if "kernel" in n or n.endswith("_W") or "_W:" in n), names[0])
        bias = next((n for n in names if "bias" in n or n.endswith("_b") or "_b:" in n), names[-1])
        layers.append((g[kernel][()], g[bias][()]))
    return layers
