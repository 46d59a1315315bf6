"""Layer layouts: what a layer's output dimensions mean, and its canonical form.

A layer outputs (B, C, H, W) maps, (B, N, C) tokens (a patch grid after some class or
register tokens), (B, H, W, C) channels-last maps, or (B, C) vectors. The probe turns every
output into the canonical (B, C, H, W) (or (B, C)), so that "channel n" is always feature n
and "position (x, y)" a place in the image's grid, whatever the network.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from convscope.errors import OutOfRangeError

KINDS = ("maps", "tokens", "channels_last", "vector")
MAX_EXTRA_TOKENS = 8  # class, distillation and register tokens looked for before the patches


@dataclass(frozen=True)
class Layout:
    """How a layer's output is laid out: ``kind`` (one of KINDS); for tokens, the patch
    ``grid`` (rows, columns) at the model's input size and the number of ``extra`` tokens
    (class, distillation, register) that come before the patches."""

    kind: str
    grid: tuple[int, int] | None = None
    extra: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise OutOfRangeError(f"unknown layout {self.kind!r}: use one of {', '.join(KINDS)}")

    def patch_grid(self, tokens: int, image_hw: tuple[int, int] | None = None) -> tuple[int, int]:
        """The (rows, columns) of ``tokens`` patch tokens: the declared grid when it fits, else
        the grid with the image's aspect (square without one)."""
        if self.grid is not None and self.grid[0] * self.grid[1] == tokens:
            return self.grid
        aspect = image_hw[0] / image_hw[1] if image_hw else 1.0
        rows = max(1, round(math.sqrt(tokens * aspect)))
        for h in sorted(range(max(1, rows - 2), rows + 3), key=lambda r: abs(r - rows)):
            if tokens % h == 0:
                return h, tokens // h
        raise OutOfRangeError(f"a token layer with {tokens} patch tokens has no grid of the image's shape: declare "
                              "its layout with convscope.models.wrap(..., layouts={name: Layout('tokens', grid=(h, w))})")

    def to_maps(self, output: torch.Tensor, image_hw: tuple[int, int] | None = None) -> torch.Tensor:
        """The canonical form: (B, C, H, W) for maps, tokens and channels-last; (B, C) vectors.
        ``image_hw``, the size of the images the network saw, gives a token grid its shape."""
        if self.kind == "tokens":
            patches = output[:, self.extra:]
            h, w = self.patch_grid(patches.shape[1], image_hw)
            return patches.transpose(1, 2).reshape(output.shape[0], output.shape[2], h, w)
        if self.kind == "channels_last":
            return output.permute(0, 3, 1, 2)
        return output

    def from_maps(self, maps: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """The raw output that ``to_maps`` turns into ``maps``; ``like``, a raw output of the
        same batch, gives a token layer its class and register tokens."""
        if self.kind == "tokens":
            patches = maps.flatten(2).transpose(1, 2)
            return torch.cat([like[:, :self.extra].to(patches.dtype), patches], dim=1) if self.extra else patches
        if self.kind == "channels_last":
            return maps.permute(0, 2, 3, 1)
        return maps

    def extra_tokens(self, output: torch.Tensor) -> torch.Tensor | None:
        """(B, C, E): the class and register tokens of a token layer; None for other layouts."""
        if self.kind != "tokens" or self.extra == 0:
            return None
        return output[:, :self.extra].transpose(1, 2)

    def channel_view(self, per_channel: torch.Tensor) -> torch.Tensor:
        """A (C,) tensor shaped to broadcast over the raw output, channel by channel."""
        if self.kind in ("tokens", "channels_last"):
            return per_channel.view(*([1] * (2 if self.kind == "tokens" else 3)), -1)
        if self.kind == "maps":
            return per_channel.view(1, -1, 1, 1)
        return per_channel.view(1, -1)

    def describe(self) -> str:
        if self.kind == "tokens":
            grid = f"{self.grid[0]}x{self.grid[1]}" if self.grid else "?"
            return f"tokens {grid}" + (f" + {self.extra} extra" if self.extra else "")
        return self.kind.replace("_", "-")


def detect_layout(shape: tuple[int, ...]) -> Layout:
    """The layout of an output of ``shape`` (without the batch dimension):
    (C,) vectors; (N, C) tokens, with up to MAX_EXTRA_TOKENS extra tokens before a square patch
    grid; (H, W, C) channels-last when its first two sizes agree and the last differs;
    otherwise (C, H, W) maps."""
    if len(shape) == 1:
        return Layout("vector")
    if len(shape) == 2:
        tokens = shape[0]
        for extra in range(0, min(MAX_EXTRA_TOKENS, tokens - 1) + 1):
            side = math.isqrt(tokens - extra)
            if side * side == tokens - extra:
                return Layout("tokens", (side, side), extra)
        return Layout("tokens", (1, tokens), 0)
    if len(shape) == 3 and shape[0] == shape[1] != shape[2]:
        return Layout("channels_last")
    return Layout("maps")


def as_layout(value: "Layout | str") -> Layout:
    """A Layout from itself or its kind."""
    return value if isinstance(value, Layout) else Layout(str(value))
