"""Reading weight files safely and loading them strictly, with errors that say what differs."""
from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import torch
from torch import nn

from convscope.errors import WeightsError

SHOW = 5


def read_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """A state_dict from a weights file: ``.safetensors`` (preferred: it cannot run code), or a
    torch ``.pth``/``.pt``/``.bin`` file read with ``weights_only=True``.

    Args:
        path: the file.
    Returns:
        The tensors by name.
    Raises:
        WeightsError: a missing, unreadable or unsafe file.
    """
    path = Path(path)
    if path.suffix.lower() == ".safetensors" or (path.is_file() and _is_safetensors(path)):
        return read_safetensors(path)
    return read_torch_file(path)


def _is_safetensors(path: Path) -> bool:
    """A safetensors file starts with an 8-byte header length and a JSON header."""
    with open(path, "rb") as f:
        head = f.read(9)
    return len(head) == 9 and head[8:9] == b"{"


def read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    """A state_dict from a safetensors file."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not path.is_file():
        raise WeightsError(f"weights file not found: {path}")
    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as e:
        raise WeightsError(f"{path} is not a readable safetensors file: {str(e).splitlines()[0]}") from e


def read_torch_file(path: Path) -> dict[str, torch.Tensor]:
    """A state_dict from a torch file, loaded with ``weights_only=True``."""
    if not path.is_file():
        raise WeightsError(f"weights file not found: {path}")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        raise WeightsError(
            f"{path} holds a pickle that would run code or objects other than tensors; "
            f"convscope only loads plain state_dicts (weights_only=True): {str(e).splitlines()[0]}"
        ) from e
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError) as e:
        raise WeightsError(f"{path} is not a readable torch file (truncated or corrupt?): "
                           f"{str(e).splitlines()[0] if str(e) else type(e).__name__}") from e
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise WeightsError(f"{path} does not hold a state_dict (a mapping of names to tensors)")
    return obj


def describe_mismatch(net: nn.Module, sd: dict[str, torch.Tensor]) -> str:
    """The first few keys missing, unexpected, or of another shape; empty when all fit."""
    own = net.state_dict()
    missing = [k for k in own if k not in sd]
    extra = [k for k in sd if k not in own]
    shapes = [f"{k} {tuple(sd[k].shape)} (expected {tuple(own[k].shape)})"
              for k in own if k in sd and sd[k].shape != own[k].shape]
    parts = []
    for label, items in (("missing", missing), ("unexpected", extra), ("wrong shape", shapes)):
        if items:
            more = f" and {len(items) - SHOW} more" if len(items) > SHOW else ""
            parts.append(f"{len(items)} {label}: " + ", ".join(items[:SHOW]) + more)
    return "; ".join(parts)


def load_state_dict_strict(net: nn.Module, sd: dict[str, torch.Tensor], source: object, assign: bool = False) -> None:
    """Loads every key with every shape, or raises saying which differ.

    Args:
        net: the network.
        sd: the state_dict.
        source: what the weights came from, for the message.
        assign: take the tensors of ``sd`` as the parameters (for a network made on the meta
            device) instead of copying them into its own.
    Raises:
        WeightsError: a key or a shape that differs.
    """
    problem = describe_mismatch(net, sd)
    if problem:
        raise WeightsError(f"weights in {source} do not fit {type(net).__name__}: {problem}")
    net.load_state_dict(sd, strict=True, assign=assign)
