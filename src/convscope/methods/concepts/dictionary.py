"""A learned dictionary: unit-norm atoms (concepts x channels), an offset, and the encoder
that gives each activation vector its codes. x is reconstructed as offset + codes @ atoms.

- ``nmf``: codes are the non-negative least-squares solution for the atoms (no offset).
- ``sae``: a TopK sparse autoencoder. The vectors are centred and scaled first,
  x' = (x - mean) / scale, with ``mean`` the channels' mean over the training vectors and
  ``scale`` the root mean squared norm of x - mean; the codes are
  scale * TopK(ReLU((x' - decoder_bias) @ encoder.T + encoder_bias)), so that they are in the
  layer's own units and offset = mean + scale * decoder_bias.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from convscope.errors import ImageInputError
from convscope.io.files import atomic_path

METHODS = ("nmf", "sae")
NNLS_STEPS = 60  # accelerated projected-gradient steps of the NMF codes


@dataclass
class ConceptDictionary:
    """Atoms and encoder of one layer's dictionary (see the module docstring).

    Attributes:
        method: ``nmf`` or ``sae``.
        atoms: (K, C) float32, each row of unit norm.
        offset: (C,) added to every reconstruction (zeros for NMF).
        k: the active codes per vector of a TopK SAE (None for NMF).
        encoder: (K, C) encoder weights of an SAE.
        encoder_bias: (K,) of an SAE.
        mean: (C,) the centring of an SAE.
        scale: the scaling of an SAE.
        decoder_bias: (C,) of an SAE, in the centred units.
    """

    method: str
    atoms: torch.Tensor
    offset: torch.Tensor
    k: int | None = None
    encoder: torch.Tensor | None = None
    encoder_bias: torch.Tensor | None = None
    mean: torch.Tensor | None = None
    scale: float = 1.0
    decoder_bias: torch.Tensor | None = None

    @property
    def concepts(self) -> int:
        return int(self.atoms.shape[0])

    @property
    def channels(self) -> int:
        return int(self.atoms.shape[1])

    def encode(self, vectors: torch.Tensor) -> torch.Tensor:
        """(N, K) codes of (N, C) vectors, non-negative, in the layer's units."""
        x = vectors.to(self.atoms.device, torch.float32)
        if self.method == "nmf":
            return nnls_codes(x, self.atoms)
        assert self.encoder is not None and self.encoder_bias is not None and self.mean is not None \
            and self.decoder_bias is not None and self.k is not None
        centred = (x - self.mean) / self.scale - self.decoder_bias
        return topk_relu(centred @ self.encoder.T + self.encoder_bias, self.k) * self.scale

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """(N, C) reconstructions of (N, K) codes."""
        return codes.to(self.atoms.device, torch.float32) @ self.atoms + self.offset

    def to(self, device: torch.device | str) -> "ConceptDictionary":
        """The same dictionary with its tensors on ``device``."""
        def move(value: torch.Tensor | None) -> torch.Tensor | None:
            return value.to(device) if value is not None else None

        return ConceptDictionary(self.method, self.atoms.to(device), self.offset.to(device), self.k,
                                 move(self.encoder), move(self.encoder_bias), move(self.mean), self.scale,
                                 move(self.decoder_bias))

    def save(self, path: Path, meta: dict) -> Path:
        """Writes the dictionary as safetensors, with ``meta`` (and the method, k and scale) in its header."""
        tensors = {name: value.detach().float().cpu().contiguous() for name, value in vars(self).items()
                   if isinstance(value, torch.Tensor)}
        header = {"convscope": json.dumps({**meta, "method": self.method, "k": self.k, "scale": self.scale},
                                          sort_keys=True)}
        with atomic_path(path) as tmp:
            save_file(tensors, str(tmp), metadata=header)
        return path

    @classmethod
    def load(cls, path: Path) -> tuple["ConceptDictionary", dict]:
        """A saved dictionary and its ``meta``."""
        from safetensors import safe_open

        if not path.is_file():
            raise ImageInputError(f"no dictionary at {path}: give a folder written by the concepts command")
        with safe_open(str(path), framework="pt") as f:
            meta = json.loads((f.metadata() or {}).get("convscope", "{}"))
        if meta.get("method") not in METHODS:
            raise ImageInputError(f"{path} is not a convscope dictionary: give a folder written by the concepts command")
        tensors = load_file(str(path))
        return cls(meta["method"], tensors["atoms"], tensors["offset"], meta["k"], tensors.get("encoder"),
                   tensors.get("encoder_bias"), tensors.get("mean"), float(meta["scale"]),
                   tensors.get("decoder_bias")), meta


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
    momentum, previous, t = codes, codes, 1.0
    for _ in range(steps):
        codes = (momentum - (momentum @ gram - correlation) / lipschitz).relu()
        t_next = (1 + (1 + 4 * t * t) ** 0.5) / 2
        momentum = codes + (t - 1) / t_next * (codes - previous)
        previous, t = codes, t_next
    return codes
