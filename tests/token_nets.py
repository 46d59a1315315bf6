"""Small transformer networks for the token-layout tests, with known behaviour."""
from __future__ import annotations

import torch
from torch import nn

FEATURES = 32
PATCH = 16


class PatchTransformer(nn.Module):
    """Patch embedding (16 px, 32 features), optional class tokens, transformer layers, a head.

    Feature 0 of every token is the patch's mean red minus its mean green and blue, feature 1
    green, feature 2 blue (by construction of the embedding); the transformer layers are pre-norm
    with zeroed output projections, so their output is their input and the features survive."""

    def __init__(self, layers: int = 2, extra_tokens: int = 0, classes: int = 10) -> None:
        super().__init__()
        self.patch_embed = nn.Conv2d(3, FEATURES, PATCH, stride=PATCH)
        with torch.no_grad():
            self.patch_embed.weight.zero_()
            self.patch_embed.bias.zero_()
            for k in range(3):
                for c in range(3):
                    self.patch_embed.weight[k, c] = (1.0 if c == k else -0.5) / PATCH ** 2
        self.extra = nn.Parameter(torch.randn(1, extra_tokens, FEATURES)) if extra_tokens else None
        self.blocks = nn.Sequential(*[nn.TransformerEncoderLayer(FEATURES, 4, 64, dropout=0.0, batch_first=True,
                                                                 norm_first=True) for _ in range(layers)])
        for block in self.blocks:
            with torch.no_grad():
                block.self_attn.out_proj.weight.zero_()
                block.self_attn.out_proj.bias.zero_()
                block.linear2.weight.zero_()
                block.linear2.bias.zero_()
        self.head = nn.Linear(FEATURES, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.patch_embed(x).flatten(2).transpose(1, 2)
        if self.extra is not None:
            tokens = torch.cat([self.extra.expand(x.shape[0], -1, -1), tokens], dim=1)
        tokens = self.blocks(tokens)
        return self.head(tokens[:, -1])


class ChannelsLast(nn.Module):
    """A conv whose output is turned to (B, H, W, C), as in Swin stages, then a head."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 12, 8, stride=8)
        self.stage = nn.Identity()
        self.head = nn.Linear(12, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.stage(self.conv(x).permute(0, 2, 3, 1))
        return self.head(y.mean(dim=(1, 2)))


def build() -> nn.Module:
    """For ``--model tests/token_nets.py:build``."""
    torch.manual_seed(0)
    return PatchTransformer()
