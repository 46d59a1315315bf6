"""Writers for VGG weight files in each supported layout, and an independent reference
forward pass built from the same arrays by the documented rules."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import torch
import torch.nn.functional as F

VGG16 = (2, 2, 3, 3, 3)
CAFFE_MEAN_BGR = np.array([103.939, 116.779, 123.68], dtype=np.float32)


@dataclass
class Arrays:
    """True kernels (out, in, 3, 3) for torch's cross-correlation, and dense W as (in, out)."""

    convs: list[tuple[np.ndarray, np.ndarray]]
    dense: list[tuple[np.ndarray, np.ndarray]]


def random_arrays(seed: int = 0, classifier: bool = True, cfg: tuple[int, ...] = VGG16) -> Arrays:
    rng = np.random.default_rng(seed)
    convs, c_in = [], 3
    for block, count in enumerate(cfg):
        width = min(64 * 2 ** block, 512)
        for _ in range(count):
            w = rng.standard_normal((width, c_in, 3, 3), dtype=np.float32) * np.sqrt(2 / (9 * c_in))
            convs.append((w.astype(np.float32), rng.standard_normal(width, dtype=np.float32) * 0.1))
            c_in = width
    dense = []
    if classifier:
        for n_in, n_out in ((25088, 4096), (4096, 4096), (4096, 1000)):
            w = rng.standard_normal((n_in, n_out), dtype=np.float32) * np.float32(np.sqrt(2 / n_in))
            dense.append((w, rng.standard_normal(n_out, dtype=np.float32) * 0.1))
    return Arrays(convs, dense)


def flip(w: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(w[:, :, ::-1, ::-1])


def caffe(x: torch.Tensor) -> torch.Tensor:
    return x.flip(1) * 255 - torch.from_numpy(CAFFE_MEAN_BGR).view(1, 3, 1, 1)


def torchvision_norm(x: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    return (x - mean) / std


def reference(arrays: Arrays, x: torch.Tensor, preprocess, flatten: str = "chw", cfg=VGG16) -> torch.Tensor:
    """The network computed directly from the arrays: conv, ReLU, pools, then
    ``flat @ W + b`` with W as Keras stores it and the flatten order given."""
    h = preprocess(x)
    i = 0
    for count in cfg:
        for _ in range(count):
            w, b = arrays.convs[i]
            h = F.relu(F.conv2d(h, torch.from_numpy(w), torch.from_numpy(b), padding=1))
            i += 1
        h = F.max_pool2d(h, 2)
    if not arrays.dense:
        return h
    flat = h.permute(0, 2, 3, 1).reshape(h.shape[0], -1) if flatten == "hwc" else h.reshape(h.shape[0], -1)
    for j, (w, b) in enumerate(arrays.dense):
        flat = flat @ torch.from_numpy(w) + torch.from_numpy(b)
        if j < 2:
            flat = F.relu(flat)
    return flat


def write_keras03(path: Path, arrays: Arrays, stored_flipped: bool, cfg=VGG16) -> None:
    """The article's file: every layer a group layer_{k}, zero-padding/pooling/flatten/dropout with
    nb_params 0, conv param_0 (out, in, rows, cols), dense param_0 (in, out)."""
    layers: list[tuple[np.ndarray, np.ndarray] | None] = []
    i = 0
    for count in cfg:
        for _ in range(count):
            w, b = arrays.convs[i]
            layers += [None, (flip(w) if stored_flipped else w, b)]  # ZeroPadding2D, Convolution2D
            i += 1
        layers.append(None)  # MaxPooling2D
    if arrays.dense:
        layers.append(None)  # Flatten
        for j, d in enumerate(arrays.dense):
            layers.append(d)
            if j < 2:
                layers.append(None)  # Dropout
    with h5py.File(path, "w") as f:
        f.attrs["nb_layers"] = len(layers)
        for k, params in enumerate(layers):
            g = f.create_group(f"layer_{k}")
            g.attrs["nb_params"] = 0 if params is None else 2
            if params is not None:
                g.create_dataset("param_0", data=params[0])
                g.create_dataset("param_1", data=params[1])


def _layer_plan(arrays: Arrays, cfg=VGG16) -> list[tuple[str, tuple[np.ndarray, np.ndarray] | None, str]]:
    plan = [("input_1", None, "conv")]
    i = 0
    for block, count in enumerate(cfg, start=1):
        for c in range(1, count + 1):
            plan.append((f"block{block}_conv{c}", arrays.convs[i], "conv"))
            i += 1
        plan.append((f"block{block}_pool", None, "conv"))
    if arrays.dense:
        plan.append(("flatten", None, "dense"))
        for name, d in zip(("fc1", "fc2", "predictions"), arrays.dense):
            plan.append((name, d, "dense"))
    return plan


def write_keras2_tf(path: Path, arrays: Arrays, nested: bool = True, chunked: bool = True) -> None:
    """keras.applications, Keras 2, tf kernels (3, 3, in, out); fc1 rows in (H, W, C) order;
    a full-model file (model_weights/) with layer_names split into chunks."""
    with h5py.File(path, "w") as f:
        root = f.create_group("model_weights") if nested else f
        names = []
        for name, params, kind in _layer_plan(arrays):
            names.append(name.encode())
            g = root.create_group(name)
            if params is None:
                g.attrs["weight_names"] = np.array([], dtype="S1")
                continue
            w, b = params
            if kind == "conv":
                w = w.transpose(2, 3, 1, 0)  # (out, in, r, c) -> (r, c, in, out)
            elif name == "fc1":
                # rows from (C, H, W) order to Keras-tf's (H, W, C) flatten order
                w = w.reshape(512, 7, 7, -1).transpose(1, 2, 0, 3).reshape(25088, -1)
            g.attrs["weight_names"] = np.array([f"{name}/kernel:0".encode(), f"{name}/bias:0".encode()])
            g.create_dataset(f"{name}/kernel:0", data=w)
            g.create_dataset(f"{name}/bias:0", data=b)
        if chunked:
            half = len(names) // 2
            root.attrs["layer_names0"] = np.array(names[:half])
            root.attrs["layer_names1"] = np.array(names[half:])
        else:
            root.attrs["layer_names"] = np.array(names)


def write_keras1_th(path: Path, arrays: Arrays) -> None:
    """Keras 1, th kernels: (out, in, 3, 3) stored flipped; weights named name_W, name_b."""
    with h5py.File(path, "w") as f:
        names = []
        for name, params, _kind in _layer_plan(arrays):
            names.append(name.encode())
            g = f.create_group(name)
            if params is None:
                g.attrs["weight_names"] = np.array([], dtype="S1")
                continue
            w, b = params
            if w.ndim == 4:
                w = flip(w)
            g.attrs["weight_names"] = np.array([f"{name}_W".encode(), f"{name}_b".encode()])
            g.create_dataset(f"{name}_W", data=w)
            g.create_dataset(f"{name}_b", data=b)
        f.attrs["layer_names"] = np.array(names)


def write_torchvision(path: Path, arrays: Arrays, cfg=VGG16) -> None:
    sd, index = {}, 0
    i = 0
    for count in cfg:
        for _ in range(count):
            w, b = arrays.convs[i]
            sd[f"features.{index}.weight"] = torch.from_numpy(w)
            sd[f"features.{index}.bias"] = torch.from_numpy(b)
            index += 2
            i += 1
        index += 1
    for j, (w, b) in zip((0, 3, 6), arrays.dense):
        sd[f"classifier.{j}.weight"] = torch.from_numpy(np.ascontiguousarray(w.T))
        sd[f"classifier.{j}.bias"] = torch.from_numpy(b)
    if path.suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in sd.items()}, str(path))
    else:
        torch.save(sd, path)
