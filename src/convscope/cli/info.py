"""Commands that describe: models, layers, classify."""
from __future__ import annotations

import argparse
import sys

from .. import models
from .common import emit, load_model, positive


def cmd_models(args: argparse.Namespace) -> None:
    table = models.available()
    emit(args, [{"name": k, "about": v} for k, v in table.items()],
         "\n".join(f"{name:22s} {about}" for name, about in table.items()))


def cmd_layers(args: argparse.Namespace) -> None:
    args.model = args.model_name
    model = load_model(args)
    rows = [{"name": l.name, "kind": l.kind, "channels": l.channels, "shape": list(l.shape)}
            for l in model.layers.values()]
    lines = [f"{'name':12s} {'kind':8s} {'channels':>8s}  output at {model.input_size} px"]
    lines += [f"{r['name']:12s} {r['kind']:8s} {r['channels']:8d}  {'x'.join(map(str, r['shape']))}" for r in rows]
    emit(args, rows, "\n".join(lines))


def cmd_classify(args: argparse.Namespace) -> None:
    from ..classify import classify
    from ..images import load_photo

    positive(args.top, "--top")
    photos = [(path, load_photo(path)) for path in args.images]
    model = load_model(args)
    results, lines = [], []
    for path, (rgb, notes) in photos:
        for note in notes:
            print(f"note: {note}", file=sys.stderr)
        preds = classify(model, rgb, args.top)
        results.append({"image": path, "top": [p.__dict__ for p in preds]})
        lines.append(path)
        lines += [f"  {p.probability:6.1%}  {p.index:4d}  {p.name}" for p in preds]
    emit(args, results, "\n".join(lines))
