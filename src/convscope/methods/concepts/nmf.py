"""Online non-negative matrix factorization (Mairal et al. 2010, with a non-negativity
projection): each minibatch is coded against the current atoms (non-negative least squares),
its sufficient statistics A = H^T H and B = H^T X are averaged in, and one projected gradient
step on all atoms at once updates them, each kept non-negative and of unit norm (a sweep of
block coordinate descent over the atoms, one at a time, made the default training on
efficientnet-lite0's head 1.8 times as long for the same explained variance). Memory holds one
minibatch and the (K x K), (K x C) statistics, whatever the number of vectors."""
from __future__ import annotations

from pathlib import Path

import torch

from convscope.methods.concepts.dictionary import ConceptDictionary, nnls_codes
from convscope.methods.concepts.registry import BUILT_IN_METHODS, dictionary_method
from convscope.methods.concepts.schedule import Progress, Training, load_checkpoint, save_checkpoint
from convscope.methods.concepts.sources import VectorSource

TRAIN_NNLS_STEPS = 30
MIN_WEIGHT = 0.05  # the newest minibatch's least weight in the running statistics
DEAD_SHARE = 1e-6  # an atom whose use is below this share of the average is re-seeded


@dictionary_method
class NMFDictionary(ConceptDictionary):
    """Non-negative atoms whose codes are the non-negative least-squares solution (no offset)."""

    method = "nmf"
    about = BUILT_IN_METHODS["nmf"].about
    non_negative = True

    @classmethod
    def fit(cls, source: VectorSource, training: Training, checkpoint: Path | None = None,
            progress: Progress | None = None) -> ConceptDictionary:
        return train_nmf(source, training, checkpoint, progress)

    def encode(self, vectors: torch.Tensor) -> torch.Tensor:
        return nnls_codes(vectors.to(self.atoms.device, torch.float32), self.atoms)


def train_nmf(source: VectorSource, training: Training, checkpoint: Path | None = None,
              progress: Progress | None = None) -> ConceptDictionary:
    """An NMF dictionary of ``training.concepts`` atoms for the non-negative vectors of ``source``.

    Args:
        source: the training vectors (values below zero are treated as zero).
        training: concepts, epochs, batch, seed and device.
        checkpoint: a file to save the state to after each epoch, and to resume from.
        progress: called with (steps done, steps in all).
    Returns:
        The dictionary (seeded: the same source and settings give the same atoms).
    """
    device = torch.device(training.device)
    batch, epochs = training.batch_for(source.count), training.epochs_for(source.count)
    steps_per_epoch = -(-source.count // batch)
    settings = {"method": "nmf", "concepts": training.concepts, "batch": batch, "epochs": epochs,
                "seed": training.seed, "count": source.count}
    state = load_checkpoint(checkpoint, settings)
    if state is None:
        atoms = _initial_atoms(source, training.concepts, training.seed).to(device)
        state = {"settings": settings, "epoch": 0, "seen": 0, "atoms": atoms,
                 "a": torch.zeros(training.concepts, training.concepts, device=device),
                 "b": torch.zeros(training.concepts, source.channels, device=device)}
    atoms, a, b = state["atoms"].to(device), state["a"].to(device), state["b"].to(device)
    seen = state["seen"]
    for epoch in range(state["epoch"], epochs):
        for x in source.minibatches(batch, epoch, training.seed):
            x = x.to(device).clamp_min(0)
            codes = nnls_codes(x, atoms, TRAIN_NNLS_STEPS)
            weight = max(1.0 / (seen + 1), MIN_WEIGHT)
            a = (1 - weight) * a + weight * (codes.T @ codes) / len(x)
            b = (1 - weight) * b + weight * (codes.T @ x) / len(x)
            atoms = _update_atoms(atoms, a, b, x, codes)
            seen += 1
            if progress is not None:
                progress(seen, epochs * steps_per_epoch)
        save_checkpoint(checkpoint, {"settings": settings, "epoch": epoch + 1, "seen": seen, "atoms": atoms.cpu(),
                                     "a": a.cpu(), "b": b.cpu()})
    return NMFDictionary(atoms.cpu(), torch.zeros(source.channels))


def _initial_atoms(source: VectorSource, concepts: int, seed: int) -> torch.Tensor:
    """Random training vectors (the seed's first minibatches), each mixed with uniform noise and
    normalized: a random initialization that differs from seed to seed."""
    generator = torch.Generator().manual_seed(seed)
    picked: list[torch.Tensor] = []
    for x in source.minibatches(max(concepts, 256), 10_000 + seed, seed):
        picked.append(x.clamp_min(0))
        if sum(len(p) for p in picked) >= concepts:
            break
    vectors = torch.cat(picked)
    vectors = vectors[torch.randperm(len(vectors), generator=generator)[:concepts]]
    while len(vectors) < concepts:  # fewer vectors than concepts: pure noise for the rest
        vectors = torch.cat([vectors, torch.zeros(1, source.channels)])
    norms = vectors.norm(dim=1, keepdim=True).clamp_min(1e-12)
    noise = torch.rand(concepts, source.channels, generator=generator)
    mixed = vectors / norms + 0.5 * noise / noise.norm(dim=1, keepdim=True)
    return mixed / mixed.norm(dim=1, keepdim=True)


def _update_atoms(atoms: torch.Tensor, a: torch.Tensor, b: torch.Tensor, x: torch.Tensor,
                  codes: torch.Tensor) -> torch.Tensor:
    """One projected gradient step on the surrogate 1/2 tr(D^T A D) - tr(D^T B), all atoms at once
    (step 1/L, L the largest eigenvalue of A), each atom kept non-negative and of unit norm (an
    atom the step zeroes keeps its place); an atom no vector uses is re-seeded with one of the
    minibatch's worst reconstructed vectors, the worst first."""
    usage = a.diagonal()
    dead = (usage <= DEAD_SHARE * usage.mean().clamp_min(1e-30)).nonzero().flatten()
    lipschitz = float(torch.linalg.eigvalsh(a.double()).max().clamp_min(1e-12))
    moved = (atoms - (a @ atoms - b) / lipschitz).clamp_min(0)
    norms = moved.norm(dim=1, keepdim=True)
    updated = torch.where(norms > 0, moved / norms.clamp_min(1e-12), atoms)
    if len(dead):
        worst = (x - codes @ atoms).norm(dim=1).topk(min(len(dead), len(x))).indices
        dead = dead[:len(worst)]
        updated[dead] = x[worst] / x[worst].norm(dim=1, keepdim=True).clamp_min(1e-12)
    return updated
