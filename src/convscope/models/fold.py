"""Folding eval-mode BatchNorm into the convolution before it: one op instead of three
(forward and backward), the same function up to float rounding."""
from __future__ import annotations

import torch
from torch import nn


def fold_batch_norm(conv: nn.Module, bn: nn.Module) -> nn.Identity:
    """Scales ``conv``'s kernels and sets its bias so that it computes bn(conv(x));
    returns the Identity that takes the batch norm's place."""
    if not isinstance(conv, nn.Conv2d) or not isinstance(bn, nn.BatchNorm2d) or bn.running_var is None \
            or bn.running_mean is None:
        raise TypeError(f"fold_batch_norm takes a Conv2d and a BatchNorm2d with running statistics, got "
                        f"{type(conv).__name__} and {type(bn).__name__}")
    with torch.no_grad():
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        bias = bn.bias - bn.running_mean * scale
        if conv.bias is not None:
            bias = bias + conv.bias * scale
        conv.weight.mul_(scale.view(-1, 1, 1, 1))
        conv.bias = nn.Parameter(bias.clone(), requires_grad=False)
    return nn.Identity()
