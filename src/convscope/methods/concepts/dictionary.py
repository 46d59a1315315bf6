"""A learned dictionary: unit-norm atoms (concepts x channels), an offset, and the encoder
that gives each activation vector its codes. x is reconstructed as offset + codes @ atoms.

A dictionary method is a subclass of ``ConceptDictionary`` that says how to ``fit`` one and
how to ``encode`` vectors, registered once with ``@dictionary_method``; the concepts job, the
Python API and the command line's ``--method`` choices all read the registry
(``convscope.methods.concepts.registry``). The built-in ones (``convscope.methods.concepts.nmf`` and ``.sae``):

- ``nmf``: codes are the non-negative least-squares solution for the atoms (no offset).
- ``sae``: a TopK sparse autoencoder. The vectors are centred and scaled first,
  x' = (x - mean) / scale, with ``mean`` the channels' mean over the training vectors and
  ``scale`` the root mean squared norm of x - mean; the codes are
  scale * TopK(ReLU((x' - decoder_bias) @ encoder.T + encoder_bias)), so that they are in the
  layer's own units and offset = mean + scale * decoder_bias.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import torch

from convscope.errors import ImageInputError
from convscope.io.files import atomic_path
from convscope.methods.concepts.registry import dictionary_methods

if TYPE_CHECKING:
    from convscope.methods.concepts.schedule import Progress, Training
    from convscope.methods.concepts.sources import VectorSource

NNLS_STEPS = 60  # accelerated projected-gradient steps of the NMF codes


@dataclass
class ConceptDictionary:
    """Atoms and offset of one layer's dictionary; a method's subclass adds its encoder.

    Attributes:
        atoms: (K, C) float32, each row of unit norm.
        offset: (C,) added to every reconstruction.
        method: the method's name (a class attribute), as ``--method`` and saved files give it.
        about: one line on the method, for help texts.
        non_negative: whether the method needs a layer without negative values.
    """

    atoms: torch.Tensor
    offset: torch.Tensor
    method: ClassVar[str] = ""
    about: ClassVar[str] = ""
    non_negative: ClassVar[bool] = False

    @property
    def concepts(self) -> int:
        return int(self.atoms.shape[0])

    @property
    def channels(self) -> int:
        return int(self.atoms.shape[1])

    @property
    def k(self) -> int | None:
        """The active codes per vector, for a method that fixes them (None: it does not)."""
        return None

    @classmethod
    def fit(cls, source: VectorSource, training: Training, checkpoint: Path | None = None,
            progress: Progress | None = None) -> "ConceptDictionary":
        """A dictionary of ``training.concepts`` atoms learned from ``source``.

        Args:
            source: the training vectors.
            training: concepts, k, epochs, batch, seed and device.
            checkpoint: a file to save the state to after each epoch, and to resume from.
            progress: called with (steps done, steps in all).
        Returns:
            The dictionary (seeded: the same source and settings give the same atoms).
        """
        raise NotImplementedError

    def encode(self, vectors: torch.Tensor) -> torch.Tensor:
        """(N, K) codes of (N, C) vectors, non-negative, in the layer's units."""
        raise NotImplementedError

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """(N, C) reconstructions of (N, K) codes."""
        return codes.to(self.atoms.device, torch.float32) @ self.atoms + self.offset

    def header(self) -> dict[str, Any]:
        """What a saved file's header holds besides the tensors (the method's name first)."""
        return {"method": self.method, "k": None, "scale": 1.0}

    @classmethod
    def from_saved(cls, tensors: dict[str, torch.Tensor], header: dict[str, Any]) -> "ConceptDictionary":
        """The dictionary of a saved file's tensors and header."""
        return cls(tensors["atoms"], tensors["offset"])

    def to(self, device: torch.device | str) -> "ConceptDictionary":
        """The same dictionary with its tensors on ``device``."""
        return replace(self, **{f.name: getattr(self, f.name).to(device) for f in fields(self)
                                if isinstance(getattr(self, f.name), torch.Tensor)})

    def save(self, path: Path, meta: dict) -> Path:
        """Writes the dictionary as safetensors, with ``meta`` (and the method's header) in its header."""
        from safetensors.torch import save_file

        tensors = {name: value.detach().float().cpu().contiguous() for name, value in vars(self).items()
                   if isinstance(value, torch.Tensor)}
        header = {"convscope": json.dumps({**meta, **self.header()}, sort_keys=True)}
        with atomic_path(path) as tmp:
            save_file(tensors, str(tmp), metadata=header)
        return path

    @staticmethod
    def load(path: Path) -> tuple["ConceptDictionary", dict]:
        """A saved dictionary (of whichever registered method saved it) and its ``meta``."""
        from safetensors import safe_open
        from safetensors.torch import load_file

        if not path.is_file():
            raise ImageInputError(f"no dictionary at {path}: give a folder written by the concepts command")
        with safe_open(str(path), framework="pt") as f:
            meta = json.loads((f.metadata() or {}).get("convscope", "{}"))
        methods = dictionary_methods()
        if meta.get("method") not in methods:
            raise ImageInputError(f"{path} is not a convscope dictionary: give a folder written by the concepts command")
        return methods[meta["method"]].from_saved(load_file(str(path)), meta), meta


def topk_relu(pre: torch.Tensor, k: int) -> torch.Tensor:
    """ReLU of the ``k`` largest entries of each row, zero elsewhere."""
    values, indices = pre.topk(k, dim=1)
    return torch.zeros_like(pre).scatter_(1, indices, values.relu())


def nnls_codes(x: torch.Tensor, atoms: torch.Tensor, steps: int = NNLS_STEPS) -> torch.Tensor:
    """argmin_{H >= 0} ||x - H @ atoms||^2, by accelerated projected gradient (FISTA) from the
    clipped correlations; deterministic.

    Args:
        x: (N, C) vectors.
        atoms: (K, C).
        steps: iterations.
    Returns:
        (N, K) non-negative codes.
    """
    gram = atoms @ atoms.T
    lipschitz = float(torch.linalg.eigvalsh(gram.double()).max().clamp_min(1e-12))
    correlation = x @ atoms.T
    codes = (correlation / gram.diagonal().clamp_min(1e-12)).relu() / max(atoms.shape[0], 1) ** 0.5
    # the gradient step H - (H G - C) / L as one fused product: H (I - G / L) + C / L
    step, shift = torch.eye(len(gram), dtype=gram.dtype, device=gram.device) - gram / lipschitz, correlation / lipschitz
    momentum, previous, t = codes, codes, 1.0
    for _ in range(steps):
        codes = torch.addmm(shift, momentum, step).relu_()
        t_next = (1 + (1 + 4 * t * t) ** 0.5) / 2
        momentum = torch.add(codes, codes - previous, alpha=(t - 1) / t_next)
        previous, t = codes, t_next
    return codes
