"""Commands that describe: models, layers, classify."""
from __future__ import annotations

import argparse
import sys

from convscope import api
from convscope.cli.common import emit, fail, load_model, plural
from convscope.cli.flags import Command, device_flags, json_flag, model_argument, model_flag, model_flags
from convscope.cli.spec_flags import spec_from_args
from convscope.errors import ConvscopeError


def cmd_models(args: argparse.Namespace) -> None:
    api.resolve_device(args.device)  # a device that is not there is refused, as every command does
    table = api.available()
    emit(args, [{"name": k, "about": v} for k, v in table.items()],
         "\n".join(f"{name:22s} {about}" for name, about in table.items()))


def cmd_layers(args: argparse.Namespace) -> None:
    args.model = args.model_name
    if args.weights is None and args.model in api.NEEDS_WEIGHTS:
        print(f"note: no --weights given: the layers of the {args.model} architecture (names and shapes)",
              file=sys.stderr)
        model = api.load_architecture(args.model)
    else:
        model = load_model(args)
    main = set(model.main_layers)
    ordered = [l for l in model.layers.values() if l.name in main] + \
        [l for l in model.layers.values() if l.name not in main]
    rows = [{"name": l.name, "kind": l.kind, "channels": l.channels, "shape": list(l.shape),
             "layout": l.layout.kind, "grid": list(l.shape[1:]) if len(l.shape) == 3 else None,
             "extra_tokens": l.layout.extra, "main": l.name in main} for l in ordered]
    width = max(12, *(len(l.name) for l in ordered))
    kind_width = max(8, *(len(l.kind) for l in ordered))
    lines = [f"{'name':{width}s} {'kind':{kind_width}s} {'features':>8s}  {'grid':7s} layout (at {model.input_size} px)"]
    for r, layer in zip(rows, ordered):
        grid = "x".join(map(str, layer.shape[1:])) if len(layer.shape) == 3 else "-"
        lines.append(f"{r['name']:{width}s} {r['kind']:{kind_width}s} {r['channels']:8d}  {grid:7s} "
                     f"{layer.layout.describe()}")
    if len(main) < len(rows):
        lines.insert(len(main) + 1, f"-- the other {len(rows) - len(main)} layers (inside the blocks) --")
    emit(args, rows, "\n".join(lines))


def cmd_classify(args: argparse.Namespace) -> None:
    spec = spec_from_args(api.ClassifySpec, args)
    readable, errors = {}, {}
    for path in args.images:
        try:
            readable[path] = api.load_photo(path)
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
        preds = api.classify(model, rgb, spec=spec)
        results.append({"image": path, "top": [p.__dict__ for p in preds]})
        lines.append(path)
        lines += [f"  {p.probability:6.1%}  {p.index:4d}  {p.name}" for p in preds]
    emit(args, results, "\n".join(lines))
    if errors:
        fail(f"{plural(len(errors), 'image')} of {len(args.images)} could not be read: {', '.join(errors)}")


def no_arguments(p: argparse.ArgumentParser) -> None:
    """A command with no positional argument."""


def classify_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("images", nargs="+", metavar="IMAGE")


COMMANDS = [
    Command("models", "list the models", cmd_models, no_arguments, groups=(json_flag, device_flags)),
    Command("layers", "list a model's layers", cmd_layers, model_argument, groups=(json_flag, model_flags)),
    Command("classify", "top classes of photos", cmd_classify, classify_arguments, api.ClassifySpec,
            (json_flag, model_flag)),
]
