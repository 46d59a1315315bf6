"""The observer's eyes: a second network whose pooled features embed references and queries."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from convscope.data.photo_sources import PhotoSource
from convscope.errors import ConvscopeError
from convscope.models import load
from convscope.models.base import VisionModel
from convscope.models.probe import Probe

DEFAULT_JUDGE = "efficientnet-lite2"
SECOND_JUDGE = "efficientnet-lite0"  # the judge of efficientnet-lite2 itself
EMBED_BATCH = 32


def default_judge(model_name: str) -> str:
    """The built-in network that judges ``model_name``'s units: always another one."""
    return SECOND_JUDGE if model_name == DEFAULT_JUDGE else DEFAULT_JUDGE


class Judge:
    """Embeds images as the channel means of a network's last maps (its last conv layer, after
    its activation function; its last main layer when it has no maps), at its input size."""

    def __init__(self, model: VisionModel) -> None:
        self.model = model
        self.layer = model.last_conv_layer or model.main_layers[-1]
        self._photos: dict[int, torch.Tensor] = {}

    @property
    def name(self) -> str:
        return self.model.name

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """(N, D) embeddings of (N, 3, H, W) images in [0, 1]."""
        size = self.model.input_size
        if tuple(images.shape[-2:]) != (size, size):
            images = F.interpolate(images.float(), size=(size, size), mode="bilinear", antialias=True,
                                   align_corners=False).clamp(0, 1)
        with torch.no_grad(), Probe(self.model, [self.layer]) as probe:
            a = self.model.layer(self.layer).as_used(probe(images.to(self.model.device))[self.layer]).float()
        return (a.flatten(2).mean(dim=2) if a.dim() > 2 else a).cpu()

    def embed_photos(self, source: PhotoSource, indices: list[int]) -> torch.Tensor:
        """(N, D) embeddings of photos of ``source``, each read and embedded once per judge."""
        missing = [i for i in dict.fromkeys(indices) if i not in self._photos]
        for start in range(0, len(missing), EMBED_BATCH):
            part = missing[start:start + EMBED_BATCH]
            for i, row in zip(part, self.embed(torch.cat([source.image(self.model, i) for i in part]))):
                self._photos[i] = row
        return torch.stack([self._photos[i] for i in indices])


def load_judge(judge: "VisionModel | str | None", examined: VisionModel) -> Judge:
    """The judge of ``examined``'s units: a network given, one loaded by name (on the examined
    network's device), or by default another built-in network (see ``default_judge``).

    Raises:
        ConvscopeError: a judge that cannot load, or the examined network's own name.
    """
    if isinstance(judge, VisionModel):
        return Judge(judge)
    name = judge or default_judge(examined.name)
    if name == examined.name:
        raise judge_refused(f"the judge must be another network than the one examined ({name}): give "
                              f"{{judge}} {default_judge(name)}, or another network")
    try:
        return Judge(load(name, device=str(examined.device)))
    except ConvscopeError as error:
        raise judge_refused(f"cannot load the judge {name} ({error}): give {{judge}} a network that loads, "
                              f"such as {default_judge(examined.name)}") from error


def judge_refused(message: str) -> ConvscopeError:
    """A refusal of the ``judge`` option."""
    return ConvscopeError(message, options=["judge"])
