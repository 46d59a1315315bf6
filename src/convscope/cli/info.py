"""Commands that describe: models, layers, classify."""
from __future__ import annotations

import argparse
import sys

from .. import models
from ..errors import ConvscopeError
from .common import emit, fail, load_model, plural, positive, resolve_device


def cmd_models(args: argparse.Namespace) -> None:
    resolve_device(args.device)
    table = models.available()
    emit(args, [{"name": k, "about": v} for k, v in table.items()],
         "\n".join(f"{name:22s} {about}" for name, about in table.items()))


def cmd_layers(args: argparse.Namespace) -> None:
    args.model = args.model_name
    if args.weights is None and args.model in models.NEEDS_WEIGHTS:
        print(f"note: no --weights given: the layers of the {args.model} architecture (names and shapes)",
              file=sys.stderr)
        model = models.load_architecture(args.model)
    else:
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
    readable, errors = {}, {}
    for path in args.images:
        try:
            readable[path] = load_photo(path)
        except ConvscopeError as e:
            errors[path] = e
    if not readable:
        if len(errors) == 1:
            raise next(iter(errors.values()))
        fail(f"none of the {len(errors)} images could be read (first: {next(iter(errors.values()))})")
    model = load_model(args)
    results, lines = [], []
    for path in args.images:
        if path in errors:
            print(f"convscope: error: {errors[path]}", file=sys.stderr)
            results.append({"image": path, "error": str(errors[path])})
            continue
        rgb, notes = readable[path]
        for note in notes:
            print(f"note: {note}", file=sys.stderr)
        preds = classify(model, rgb, args.top)
        results.append({"image": path, "top": [p.__dict__ for p in preds]})
        lines.append(path)
        lines += [f"  {p.probability:6.1%}  {p.index:4d}  {p.name}" for p in preds]
    emit(args, results, "\n".join(lines))
    if errors:
        fail(f"{plural(len(errors), 'image')} of {len(args.images)} could not be read: {', '.join(errors)}")
