"""overcomplete 0.3.0 beside convscope's two methods, in one process (the extras environment:
overcomplete imports timm, hence torchvision), on the same vectors of efficientnet-lite0's head:
20,000 training vectors from 90% of the photos, every position of the other 10% held out;
64 concepts, k = 8.

- SAE: overcomplete's TopKSAE (its default encoder, Linear + BatchNorm) with its AuxK loss
  (``top_k_auxiliary_loss``) and the Adam learning rate of its README (5e-4), against
  convscope's TopK SAE; both 50 epochs of 1024-vector minibatches.
- NMF: overcomplete's NMF (HALS, full batch in memory, 500 iterations), against convscope's
  online NMF (50 epochs of 1024-vector minibatches).

Explained variance is convscope's definition (per-dimension variances) for both, on the
held-out vectors; overcomplete's own R2 (one global mean) is given beside it for its models.
"""
from __future__ import annotations

import json
import sys
import time

import torch

EPOCHS, CONCEPTS, K, BATCH = 50, 64, 8, 1024


def held_out_vectors(model, shards) -> torch.Tensor:
    from convscope.data.photo_stream import photo_batches
    from convscope.models.probe import Probe

    info = model.layer("head")
    files = [shards.root / shards.files[i] for i in shards.held_out.tolist()]
    rows = []
    with torch.no_grad(), Probe(model, ["head"]) as probe:
        for part in photo_batches(files, model.input_size, 32, 0):
            maps = info.as_used(probe(part.images(model.device))["head"])
            rows.append(maps.flatten(2).transpose(1, 2).reshape(-1, maps.shape[1]))
    return torch.cat(rows)


def measure(name: str, encode, decode, x: torch.Tensor, seconds: float, epochs: int) -> dict:
    from convscope.methods.concepts.measures import ReconstructionMeter

    with torch.no_grad():
        codes = encode(x)
        meter = ReconstructionMeter(x.shape[1], codes.shape[1])
        meter.add(x, codes, decode(codes))
    summary = meter.summary()
    global_r2 = 1 - float(((x - decode(codes)) ** 2).sum() / ((x - x.mean()) ** 2).sum())
    return {"method": name, "explained_variance": summary["explained_variance"], "global_mean_r2": global_r2,
            "l0": summary["l0"], "dead_share": summary["dead"] / codes.shape[1], "train_s": seconds,
            "epoch_s": seconds / epochs}


def main(photos: str, out: str) -> list[dict]:
    from overcomplete.optimization import NMF
    from overcomplete.sae import TopKSAE
    from overcomplete.sae import train_sae as peer_train_sae
    from overcomplete.sae.losses import top_k_auxiliary_loss

    import convscope
    from convscope.data.vector_shards import VectorDraw, collect_vectors
    from convscope.methods.concepts.nmf import train_nmf
    from convscope.methods.concepts.sae import train_sae
    from convscope.methods.concepts.schedule import Training

    torch.manual_seed(0)
    model = convscope.load()
    shards = collect_vectors(model, "head", photos, out, VectorDraw(20_000))
    train = torch.cat([b for b in shards.minibatches(8192, 0, 0)])
    held = held_out_vectors(model, shards)
    rows = []

    start = time.perf_counter()
    ours = train_sae(shards, Training(CONCEPTS, K, epochs=EPOCHS, batch=BATCH))
    rows.append(measure("convscope sae", ours.encode, ours.decode, held, time.perf_counter() - start, EPOCHS))

    sae = TopKSAE(train.shape[1], nb_concepts=CONCEPTS, top_k=K, device="cpu")
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(train), batch_size=BATCH, shuffle=True)
    optimizer = torch.optim.Adam(sae.parameters(), lr=5e-4)
    start = time.perf_counter()
    peer_train_sae(sae, loader, top_k_auxiliary_loss, optimizer, nb_epochs=EPOCHS, monitoring=0)
    seconds = time.perf_counter() - start
    sae.eval()
    rows.append(measure("overcomplete TopKSAE", lambda x: sae.encode(x)[1], sae.decode, held, seconds, EPOCHS))

    start = time.perf_counter()
    ours = train_nmf(shards, Training(CONCEPTS, K, epochs=EPOCHS, batch=BATCH))
    rows.append(measure("convscope nmf", ours.encode, ours.decode, held, time.perf_counter() - start, EPOCHS))

    nmf = NMF(CONCEPTS, solver="hals")
    start = time.perf_counter()
    nmf.fit(train.clamp_min(0), max_iter=500)
    seconds = time.perf_counter() - start
    rows.append(measure("overcomplete NMF (HALS, full batch)", lambda x: nmf.encode(x), nmf.decode, held, seconds, 500))
    for row in rows:
        row["train_vectors"], row["held_out_vectors"] = len(train), len(held)
    return rows


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2])))
