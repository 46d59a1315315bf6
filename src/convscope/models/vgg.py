"""VGG16 and VGG19 with torchvision's state_dict keys and the article's layer names.

The network is built from whatever weights file the user has (Keras 0.3, Keras 1/2,
torchvision); each file brings its own preprocessing, so pictures and photos stay in
RGB [0, 1]. Without a file, torchvision's official weights are downloaded where the
internet is reachable.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from convscope.models.base import VisionModel
from convscope.models.download import fetch_official
from convscope.models.labels import imagenet_labels
from convscope.models.registry import register_model
from convscope.models.vgg_weights import LoadedWeights, read_vgg_weights
from convscope.models.weights import load_state_dict_strict

CONFIGS = {
    "vgg16": (2, 2, 3, 3, 3),
    "vgg19": (2, 2, 4, 4, 4),
}
INPUT_SIZE = 224
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class VGG(nn.Module):
    """``features`` and ``classifier`` exactly as torchvision numbers them (no adaptive pool:
    the fully connected layers take the 7x7 maps of a 224x224 input)."""

    def __init__(self, convs_per_block: tuple[int, ...], classifier: bool = True, classes: int = 1000) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 3
        for block, count in enumerate(convs_per_block):
            width = min(64 * 2 ** block, 512)
            for _ in range(count):
                layers += [nn.Conv2d(c_in, width, 3, padding=1), nn.ReLU()]
                c_in = width
            layers.append(nn.MaxPool2d(2, 2))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(), nn.Dropout(),
            nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(),
            nn.Linear(4096, classes),
        ) if classifier else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        if self.classifier is None:
            return x
        return self.classifier(torch.flatten(x, 1))


def caffe_preprocess(x: torch.Tensor) -> torch.Tensor:
    """RGB in [0, 1] to Caffe's input: BGR, 0..255, minus the mean pixel."""
    mean = torch.tensor(CAFFE_MEAN_BGR, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return x.flip(1) * 255.0 - mean


def torchvision_preprocess(x: torch.Tensor) -> torch.Tensor:
    """RGB in [0, 1] to torchvision's input: minus the ImageNet mean, over its std."""
    mean = torch.tensor(IMAGENET_MEAN, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return (x - mean) / std


PREPROCESS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "caffe": caffe_preprocess, "torchvision": torchvision_preprocess,
}


def layer_table(net: VGG, convs_per_block: tuple[int, ...]) -> tuple[dict, dict]:
    """The article's names (conv1_1 .. pool5, fc6 .. fc8) and the Keras names as aliases."""
    modules: dict[str, tuple[nn.Module, str]] = {}
    aliases: dict[str, str] = {}
    index = 0
    for block, count in enumerate(convs_per_block, start=1):
        for i in range(1, count + 1):
            modules[f"conv{block}_{i}"] = (net.features[index + 1], "conv+relu")
            aliases[f"block{block}_conv{i}"] = f"conv{block}_{i}"
            index += 2
        modules[f"pool{block}"] = (net.features[index], "maxpool")
        aliases[f"block{block}_pool"] = f"pool{block}"
        index += 1
    if net.classifier is not None:
        modules["fc6"] = (net.classifier[1], "linear+relu")
        modules["fc7"] = (net.classifier[4], "linear+relu")
        modules["fc8"] = (net.classifier[6], "linear")
        aliases.update({"fc1": "fc6", "fc2": "fc7", "predictions": "fc8", "logits": "fc8"})
    return modules, aliases


Labelled = Sequence[tuple[np.ndarray, frozenset[int]]]


def default_labelled_photos() -> Labelled:
    """Real photos with the classes a trained network must give them: a cat, an espresso."""
    from convscope.io.builtin_photos import builtin_photo

    return [(builtin_photo("chelsea").pixels, frozenset(range(281, 286))),
            (builtin_photo("coffee").pixels, frozenset({967}))]


def orientation_score(model: VisionModel, labelled: Labelled) -> float:
    """The mean log-probability the model gives the right classes of the labelled photos."""

    total = 0.0
    with torch.no_grad():
        for pixels, classes in labelled:
            probs = model.logits(model.prepare(pixels)).softmax(dim=1)[0]
            total += float(torch.log(probs[sorted(classes)].sum() + 1e-12))
    return total / len(labelled)


def assemble(name: str, loaded: LoadedWeights, state_dict: dict[str, torch.Tensor], source: Path,
             notes: list[str]) -> VisionModel:
    """The VisionModel for one converted state_dict."""
    with torch.device("meta"):  # no random initialization of 138 million numbers that the file replaces
        net = VGG(CONFIGS[name], classifier=loaded.has_classifier)
    load_state_dict_strict(net, state_dict, source, assign=True)
    modules, aliases = layer_table(net, CONFIGS[name])
    return VisionModel(
        name=name,
        net=net,
        preprocess=PREPROCESS[loaded.preprocess],
        input_size=INPUT_SIZE,
        labels=imagenet_labels() if loaded.has_classifier else None,
        layer_modules=modules,
        description=f"{name.upper()} from {source.name} ({loaded.format})",
        min_size=32,
        fixed_size_layers=frozenset({"fc6", "fc7", "fc8"}) if loaded.has_classifier else frozenset(),
        aliases=aliases,
        notes=notes,
        first_conv="conv1_1",
        first_conv_module=net.features[0],
    )


def architecture(name: str) -> VisionModel:
    """VGG ``name`` with untrained weights: its layers' names and shapes, nothing learned."""
    net = VGG(CONFIGS[name], classifier=True)
    modules, aliases = layer_table(net, CONFIGS[name])
    return VisionModel(
        name=name, net=net, preprocess=torchvision_preprocess, input_size=INPUT_SIZE, labels=imagenet_labels(),
        layer_modules=modules, description=f"{name.upper()} architecture (untrained: give weights for pictures)",
        min_size=32, fixed_size_layers=frozenset({"fc6", "fc7", "fc8"}), aliases=aliases,
        first_conv="conv1_1", first_conv_module=net.features[0],
    )


def build(name: str, weights: str | Path | None = None, kernel_orientation: str = "auto",
          labelled: Labelled | None = None) -> VisionModel:
    """VGG ``name`` with the weights in ``weights`` (any supported format), or the official
    torchvision file (downloaded into the cache where the internet is reachable).

    When a file's kernel orientation is unsettled (the article's Keras 0.3 file), each
    orientation classifies ``labelled`` photos (default: a cat and an espresso) and the one
    that gives the right classes the higher probability is kept.
    """
    notes: list[str] = []
    if weights is None:
        path, note = fetch_official(name)
        notes.append(note)
    else:
        path = Path(weights)
    loaded = read_vgg_weights(path, name, CONFIGS[name], kernel_orientation)
    notes += loaded.notes
    if len(loaded.orientations) == 1:
        return assemble(name, loaded, loaded.state_dict, path, notes)
    photos = labelled if labelled is not None else default_labelled_photos()
    candidates = {o: assemble(name, loaded, sd, path, notes) for o, sd in loaded.orientations.items()}
    scores = {o: orientation_score(m, photos) for o, m in candidates.items()}
    best = max(scores, key=lambda o: scores[o])
    shown = ", ".join(f"{o}: mean p of the right class {np.exp(v):.3f}" for o, v in scores.items())
    notes.append(f"kernel orientation: {best}, detected on {len(photos)} labelled photos ({shown}); "
                 "name the kernel orientation (as-stored or flipped) to force it")
    return candidates[best]


@register_model("vgg16", "VGG16, the article's network, 224 px (weights: a Keras .h5 or torchvision .pth file)",
                architecture=lambda: architecture("vgg16"))
def vgg16(weights: str | Path | None, kernel_orientation: str) -> VisionModel:
    return build("vgg16", weights, kernel_orientation)


@register_model("vgg19", "VGG19, 224 px (weights: a Keras .h5 or torchvision .pth file)",
                architecture=lambda: architecture("vgg19"))
def vgg19(weights: str | Path | None, kernel_orientation: str) -> VisionModel:
    return build("vgg19", weights, kernel_orientation)
