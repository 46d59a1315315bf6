"""A finished concepts folder as an object: the dictionary that encodes new activations, every
number of ``concepts.json``, the pictures, and the codes of any photo as maps."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from convscope.errors import ImageInputError
from convscope.io.notebook import fields_html
from convscope.io.photo_reading import as_photo, load_photo
from convscope.io.picture import Picture, labelled, row, stitch
from convscope.jobs.concepts.pictures import dimmed
from convscope.methods.concepts.dictionary import ConceptDictionary
from convscope.methods.concepts.effects import position_codes
from convscope.methods.concepts.folder import PICTURES as FOLDER
from convscope.methods.concepts.folder import ConceptFolder, concept_name
from convscope.methods.concepts.record import ConceptsRecord, DictionaryMeasures
from convscope.models.base import VisionModel
from convscope.models.probe import Probe

SHOWN = 6  # concepts on a photo's sheet


@dataclass
class Concepts:
    """A layer's concepts.

    Attributes:
        model: the network.
        layer: the layer's name.
        dictionary: atoms and encoder.
        record: every number of concepts.json, typed.
        out: the folder.
    """

    model: VisionModel
    layer: str
    dictionary: ConceptDictionary
    record: ConceptsRecord
    out: Path

    @classmethod
    def open(cls, folder: str | Path, model: VisionModel) -> "Concepts":
        """The concepts in ``folder`` (written by the concepts command), for ``model``.

        Args:
            folder: a finished concepts folder.
            model: the network they were learned from.
        Returns:
            The concepts.
        Raises:
            ImageInputError: no finished concepts there, or concepts of another network.
            RecordError: a concepts.json this version cannot read.
        """
        found = ConceptFolder.open(folder, model)
        return cls(model, found.layer, found.dictionary, found.record, found.root)

    @property
    def index(self) -> Path:
        return self.out / "index.html"

    @property
    def measures(self) -> DictionaryMeasures:
        """The held-out measures of the concepts (see ``methods.concepts.measures``)."""
        return self.record.measures

    def encode(self, vectors: torch.Tensor | np.ndarray) -> torch.Tensor:
        """(N, K) codes of (N, C) activation vectors of the layer (after its activation function)."""
        return self.dictionary.encode(torch.as_tensor(np.asarray(vectors, dtype=np.float32)))

    def decode(self, codes: torch.Tensor | np.ndarray) -> torch.Tensor:
        """(N, C) reconstructions of (N, K) codes."""
        return self.dictionary.decode(torch.as_tensor(np.asarray(codes, dtype=np.float32)))

    def maps(self, photo: object) -> torch.Tensor:
        """(K, H, W): every concept's code at every position of a photo (a path, array or
        Picture), seen as the network sees it (centre square at the input size)."""
        pixels = as_photo(photo)
        info = self.model.layer(self.layer)
        with torch.no_grad(), Probe(self.model, [info.name]) as probe:
            maps = info.as_used(probe(self.model.prepare(pixels))[info.name]).float()
        return position_codes(self.dictionary.to(self.model.device), maps)[0].cpu()

    def picture(self, concept: int) -> Picture:
        """The rendered picture of ``concept``."""
        return Picture(load_photo(self.out / FOLDER / f"{concept_name(concept)}.png")[0])

    def explain(self, photo: object, count: int = SHOWN) -> tuple[Picture, list[dict]]:
        """The photo's strongest concepts (by mean code): a sheet with, for each, the photo
        dimmed where the concept's code is low beside the concept's picture; and their
        numbers (index, mean and peak code)."""
        pixels = as_photo(photo)
        codes = self.maps(pixels)
        strength = codes.flatten(1).mean(dim=1)
        order = [int(i) for i in strength.argsort(descending=True, stable=True)[:count] if float(strength[i]) > 0]
        image = self.model.prepare(pixels)[0].cpu()
        size = image.shape[-1]
        tiles, rows = [], []
        for i in order:
            shown = Picture.from_tensor(dimmed(image, codes[i], float(codes[i].max())))
            concept = self.picture(i).to_pil().resize((size, size))
            tiles.append(labelled(row([shown, Picture(np.asarray(concept))], margin=2),
                                  f"{concept_name(i)}: mean {float(strength[i]):.2f}"))
            rows.append({"index": i, "name": concept_name(i), "mean_code": float(strength[i]),
                         "peak_code": float(codes[i].max())})
        if not tiles:
            raise ImageInputError("no concept is active on this photo")
        return stitch(tiles), rows

    def _repr_html_(self) -> str:
        m, base = self.measures, self.record.units_baseline
        return fields_html(f"{len(self.record.concepts)} concepts of {self.layer}: {self.index}", {
            "method": self.record.method,
            "explained variance (held-out)": f"{m.explained_variance} (units: {base.explained_variance})",
            **({"below the units": note} if (note := self.record.baseline_note()) else {}),
            "active per vector": m.l0, "dead": m.dead, "stability": m.stability,
            "training vectors": self.record.training_vectors, "photos": self.record.photos_read})
