"""A TopK sparse autoencoder (Gao et al. 2024, "Scaling and evaluating sparse autoencoders"):
k latents active per vector, decoder atoms kept at unit norm (their gradient's component along
the atom is removed before each step, and they are renormalized after), and the AuxK loss,
which reconstructs the residual from the latents that have stopped firing, so that dead
latents are pushed back into use. Inputs are centred and scaled (see ``dictionary``), so the
main loss is the fraction of variance left unexplained."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from convscope.methods.concepts.dictionary import ConceptDictionary, topk_relu
from convscope.methods.concepts.registry import BUILT_IN_METHODS, dictionary_method
from convscope.methods.concepts.schedule import Progress, Training, load_checkpoint, save_checkpoint
from convscope.methods.concepts.sources import VectorSource, channel_moments

LEARNING_RATE = 2e-3
AUX_WEIGHT = 1 / 32  # the paper's
DEAD_AFTER = 100_000  # a latent is dead after this many vectors (or one epoch, if fewer) without firing
RESAMPLE_AFTER = 2  # a latent dead for this many times DEAD_AFTER is re-seeded (Bricken et al. 2023)
DECAY_SHARE = 0.2  # the learning rate falls linearly to zero over this last share of the steps


class TopKAutoencoder(nn.Module):
    """Encoder (K, C) with bias (K,), decoder atoms (K, C) of unit norm, decoder bias (C,)."""

    def __init__(self, concepts: int, channels: int, k: int, generator: torch.Generator) -> None:
        super().__init__()
        atoms = torch.randn(concepts, channels, generator=generator)
        atoms /= atoms.norm(dim=1, keepdim=True)
        self.k = k
        self.atoms = nn.Parameter(atoms)
        self.encoder = nn.Parameter(atoms.clone())
        self.encoder_bias = nn.Parameter(torch.zeros(concepts))
        self.decoder_bias = nn.Parameter(torch.zeros(channels))

    def pre_activations(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.decoder_bias) @ self.encoder.T + self.encoder_bias

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Pre-activations, codes and reconstruction of centred, scaled vectors."""
        pre = self.pre_activations(x)
        codes = topk_relu(pre, self.k)
        return pre, codes, codes @ self.atoms + self.decoder_bias


@dictionary_method
@dataclass
class SAEDictionary(ConceptDictionary):
    """A TopK sparse autoencoder's atoms and encoder, in the layer's own units (see
    ``convscope.methods.concepts.dictionary``).

    Attributes:
        active: the active codes per vector.
        encoder: (K, C) encoder weights.
        encoder_bias: (K,).
        mean: (C,) the centring.
        scale: the scaling.
        decoder_bias: (C,) in the centred units.
    """

    method = "sae"
    about = BUILT_IN_METHODS["sae"].about

    active: int
    encoder: torch.Tensor
    encoder_bias: torch.Tensor
    mean: torch.Tensor
    scale: float
    decoder_bias: torch.Tensor

    @property
    def k(self) -> int | None:
        return self.active

    @classmethod
    def fit(cls, source: VectorSource, training: Training, checkpoint: Path | None = None,
            progress: Progress | None = None) -> ConceptDictionary:
        return train_sae(source, training, checkpoint, progress)

    def encode(self, vectors: torch.Tensor) -> torch.Tensor:
        centred = (vectors.to(self.atoms.device, torch.float32) - self.mean) / self.scale - self.decoder_bias
        return topk_relu(centred @ self.encoder.T + self.encoder_bias, self.active) * self.scale

    def header(self) -> dict:
        return {"method": self.method, "k": self.active, "scale": self.scale}

    @classmethod
    def from_saved(cls, tensors: dict[str, torch.Tensor], header: dict) -> ConceptDictionary:
        return cls(tensors["atoms"], tensors["offset"], int(header["k"]), tensors["encoder"], tensors["encoder_bias"],
                   tensors["mean"], float(header["scale"]), tensors["decoder_bias"])


def train_sae(source: VectorSource, training: Training, checkpoint: Path | None = None,
              progress: Progress | None = None) -> ConceptDictionary:
    """A TopK sparse autoencoder of ``training.concepts`` latents, ``training.k`` active.

    Args:
        source: the training vectors.
        training: concepts, k, epochs, batch, seed and device.
        checkpoint: a file to save the state to after each epoch, and to resume from.
        progress: called with (steps done, steps in all).
    Returns:
        The dictionary (seeded: the same source and settings give the same atoms on one machine).
    """
    device = torch.device(training.device)
    batch, epochs = training.batch_for(source.count), training.epochs_for(source.count)
    steps_per_epoch = -(-source.count // batch)
    total_steps = epochs * steps_per_epoch
    settings = {"method": "sae", "concepts": training.concepts, "k": training.k, "batch": batch, "epochs": epochs,
                "seed": training.seed, "count": source.count}
    mean, scale = channel_moments(source)
    net = TopKAutoencoder(training.concepts, source.channels, training.k,
                          torch.Generator().manual_seed(training.seed)).to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE)
    idle = torch.zeros(training.concepts, dtype=torch.long, device=device)  # vectors since each latent fired
    state = load_checkpoint(checkpoint, settings)
    epoch0, step = 0, 0
    if state is not None:
        net.load_state_dict(state["net"])
        optimizer.load_state_dict(state["optimizer"])
        idle, epoch0, step = state["idle"].to(device), state["epoch"], state["step"]
    dead_after = min(DEAD_AFTER, source.count)
    mean = mean.to(device)
    for epoch in range(epoch0, epochs):
        for x in source.minibatches(batch, epoch, training.seed):
            x = (x.to(device) - mean) / scale
            for group in optimizer.param_groups:
                group["lr"] = LEARNING_RATE * min(1.0, (total_steps - step) / max(1.0, DECAY_SHARE * total_steps))
            pre, codes, reconstruction = net(x)
            residual = x - reconstruction
            loss = (residual ** 2).sum(dim=1).mean()
            fired = (codes > 0).any(dim=0)
            idle = torch.where(fired, torch.zeros_like(idle), idle + len(x))
            dead = idle >= dead_after
            if bool(dead.any()):
                loss = loss + AUX_WEIGHT * _aux_loss(net, pre, residual.detach(), dead, training.k)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            _project_atom_gradients(net.atoms)
            optimizer.step()
            with torch.no_grad():
                net.atoms.div_(net.atoms.norm(dim=1, keepdim=True).clamp_min(1e-12))
            if bool((idle >= RESAMPLE_AFTER * dead_after).any()):
                _resample(net, optimizer, idle >= RESAMPLE_AFTER * dead_after, residual.detach())
                idle = torch.where(idle >= RESAMPLE_AFTER * dead_after, torch.zeros_like(idle), idle)
            step += 1
            if progress is not None:
                progress(step, total_steps)
        save_checkpoint(checkpoint, {"settings": settings, "epoch": epoch + 1, "step": step, "idle": idle.cpu(),
                                     "net": {k: v.cpu() for k, v in net.state_dict().items()},
                                     "optimizer": optimizer.state_dict()})
    return _as_dictionary(net, mean.cpu(), scale)


def _aux_loss(net: TopKAutoencoder, pre: torch.Tensor, residual: torch.Tensor, dead: torch.Tensor,
              k: int) -> torch.Tensor:
    """AuxK: how well the top ``k_aux`` dead latents reconstruct the residual, over the
    residual's variance."""
    k_aux = min(int(dead.sum()), max(2 * k, pre.shape[1] // 2))
    masked = pre.masked_fill(~dead, -torch.inf)
    aux_codes = topk_relu(masked, k_aux).nan_to_num(0.0)
    error = ((aux_codes @ net.atoms - residual) ** 2).sum(dim=1).mean()
    return error / ((residual - residual.mean(dim=0)) ** 2).sum(dim=1).mean().clamp_min(1e-12)


def _resample(net: TopKAutoencoder, optimizer: torch.optim.Optimizer, latents: torch.Tensor,
              residual: torch.Tensor) -> None:
    """Re-seeds long-dead latents with the minibatch's worst reconstructed residuals (one each,
    worst first): atom and encoder row along the residual, bias zero, Adam's moments cleared."""
    chosen = latents.nonzero().flatten()
    worst = residual.norm(dim=1).argsort(descending=True)[:len(chosen)]
    chosen = chosen[:len(worst)]
    directions = residual[worst] / residual[worst].norm(dim=1, keepdim=True).clamp_min(1e-12)
    with torch.no_grad():
        net.atoms[chosen] = directions
        net.encoder[chosen] = directions * net.encoder.norm(dim=1).mean()
        net.encoder_bias[chosen] = 0
        for parameter in (net.atoms, net.encoder, net.encoder_bias):
            for moment in optimizer.state.get(parameter, {}).values():
                if isinstance(moment, torch.Tensor) and moment.dim() > 0:
                    moment[chosen] = 0


def _project_atom_gradients(atoms: nn.Parameter) -> None:
    """Removes each atom's gradient component along the atom (the unit-norm constraint's tangent)."""
    if atoms.grad is not None:
        with torch.no_grad():
            atoms.grad -= (atoms.grad * atoms).sum(dim=1, keepdim=True) * atoms


def _as_dictionary(net: TopKAutoencoder, mean: torch.Tensor, scale: float) -> ConceptDictionary:
    """The trained autoencoder in the layer's own units."""
    with torch.no_grad():
        atoms, decoder_bias = net.atoms.detach().cpu().clone(), net.decoder_bias.detach().cpu().clone()
        return SAEDictionary(atoms, mean + scale * decoder_bias, active=net.k,
                             encoder=net.encoder.detach().cpu().clone(),
                             encoder_bias=net.encoder_bias.detach().cpu().clone(),
                             mean=mean, scale=float(scale), decoder_bias=decoder_bias)
