"""timm models by name (``timm:vit_small_patch16_224``): architecture from timm, weights from a
file, the local Hugging Face cache, or timm's own download where the internet is reachable."""
from __future__ import annotations

import socket
from pathlib import Path

import torch

from convscope.errors import MissingExtraError, WeightsError, unknown
from convscope.models.base import VisionModel
from convscope.models.labels import imagenet_labels
from convscope.models.user import wrap
from convscope.models.weights import load_state_dict_strict, read_weights

PREFIX = "timm:"
HUB_HOST = ("huggingface.co", 443)


def _timm():
    try:
        import timm
    except ImportError as e:
        raise MissingExtraError("timm models need timm: pip install 'convscope[timm]'") from e
    return timm


def _create(timm, name: str) -> torch.nn.Module:
    """The architecture, untrained; ViT-like models take any image size where timm allows it
    (their position embedding resized, the image padded to whole patches), as the robustness
    transforms need."""
    if not timm.is_model(name):
        raise unknown("timm model", name, timm.list_models())
    try:
        return timm.create_model(name, pretrained=False, dynamic_img_size=True, dynamic_img_pad=True)
    except TypeError:  # families without dynamic_img_size
        return timm.create_model(name, pretrained=False)


def _hub_reachable(timeout: float = 3.0) -> bool:
    try:
        with socket.create_connection(HUB_HOST, timeout=timeout):
            return True
    except OSError:
        return False


def _cached_file(repo_id: str) -> Path | None:
    """The weights of ``repo_id`` in the local Hugging Face cache, if they are there."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    for filename in ("model.safetensors", "pytorch_model.bin"):
        found = try_to_load_from_cache(repo_id, filename)
        if isinstance(found, str):
            return Path(found)
    return None


def _config(net: torch.nn.Module) -> dict:
    """timm's ``pretrained_cfg`` of ``net``: input size, mean, std, the hub's name for the weights."""
    return dict(getattr(net, "pretrained_cfg", None) or {})


def _weights_path(net: torch.nn.Module, name: str) -> tuple[Path, str]:
    """Where the pretrained weights of ``net`` are: the cache, or a download; a clear error offline."""
    repo = _config(net).get("hf_hub_id")
    if not repo:
        raise WeightsError(f"timm has no published weights for {name}: pass a weights file with {{weights}} FILE",
                           options=["weights"])
    cached = _cached_file(repo)
    if cached is not None:
        return cached, f"weights: {cached} (Hugging Face cache)"
    if not _hub_reachable():
        raise WeightsError(f"timm:{name} needs weights and the internet is not reachable: get model.safetensors "
                           f"from https://huggingface.co/{repo} and pass it with {{weights}} FILE", options=["weights"])
    from huggingface_hub import hf_hub_download

    try:
        path = Path(hf_hub_download(repo, "model.safetensors"))
    except Exception as e:  # the hub client raises many kinds of network errors
        raise WeightsError(f"could not download the weights of timm:{name} ({type(e).__name__}): get "
                           f"model.safetensors from https://huggingface.co/{repo} and pass it with {{weights}} FILE",
                           options=["weights"]) from e
    return path, f"weights: downloaded {repo} to {path}"


def _preprocess(mean: tuple[float, ...], std: tuple[float, ...]):
    mean_t = torch.tensor(mean).view(1, -1, 1, 1)
    std_t = torch.tensor(std).view(1, -1, 1, 1)

    def preprocess(x: torch.Tensor) -> torch.Tensor:
        return (x - mean_t.to(x)) / std_t.to(x)
    return preprocess


def load_timm(spec: str, weights: str | Path | None = None) -> VisionModel:
    """``timm:NAME`` with its weights (see the module docstring); preprocessing and input size
    from the model's pretrained config, ImageNet labels for a 1000-class head."""
    timm = _timm()
    name = spec[len(PREFIX):]
    net = _create(timm, name)
    path, note = (Path(weights), f"weights: {weights}") if weights else _weights_path(net, name)
    load_state_dict_strict(net, read_weights(path), path)
    config = _config(net)
    size = int(config.get("input_size", (3, 224, 224))[-1])
    classes = getattr(net, "num_classes", 0)
    model = wrap(net, preprocess=_preprocess(config.get("mean", (0.485, 0.456, 0.406)),
                                            config.get("std", (0.229, 0.224, 0.225))),
                 input_size=size, labels=imagenet_labels() if classes == 1000 else None, name=spec)
    model.description = f"timm {name}, {size} px ({config.get('interpolation', 'bilinear')} in timm; convscope " \
                        "resizes photos bilinearly)"
    model.notes.append(note)
    return model
