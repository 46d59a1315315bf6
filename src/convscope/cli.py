"""The command line: parse, call the library, show progress, print results."""
from __future__ import annotations

import argparse
import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

from . import models
from .errors import ConvscopeError, OutOfRangeError
from .images import image_format, write_json
from .recipes import DEFAULT_RECIPE, RECIPES


class CliError(ConvscopeError):
    """A bad command-line value."""


def fail(message: str) -> None:
    raise CliError(message)


@contextmanager
def progress_bar(label: str, unit: str = "unit-step") -> Iterator:
    """A tqdm bar on stderr, fed through the library's (done, total) progress callback."""
    from tqdm import tqdm

    bar = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, desc=label, unit=unit, file=sys.stderr, dynamic_ncols=True,
                       disable=None, leave=False)
        bar.update(done - bar.n)

    try:
        yield update
    finally:
        if bar is not None:
            bar.close()


def parse_units(text: str) -> list[int]:
    """'0-7', '3', '1,5,9' or '0-3,8' to a list of unit indices."""
    units: list[int] = []
    try:
        for part in text.split(","):
            if "-" in part:
                a, b = part.split("-")
                units += range(int(a), int(b) + 1)
            else:
                units.append(int(part))
    except ValueError:
        fail(f"cannot read units {text!r}: write them as 0-7, 3 or 1,5,9")
    if not units or min(units) < 0:
        fail(f"cannot read units {text!r}: give non-negative unit numbers such as 0-7")
    return units


def output_path(path: str) -> Path:
    """Checks an output image path before any work starts."""
    out = Path(path)
    if out.is_dir():
        fail(f"{out} is a folder: give a file name such as {out / 'picture.png'}")
    image_format(out)
    return out


def positive(value: int | None, name: str) -> None:
    if value is not None and value <= 0:
        raise OutOfRangeError(f"{name} must be positive, got {value}")


def load_model(args: argparse.Namespace) -> models.VisionModel:
    """The model the command names, with its notes (weights used, orientation) on stderr."""
    model = models.load(args.model, weights=args.weights, device=resolve_device(args.device),
                        kernel_orientation=args.kernel_orientation)
    for note in model.notes:
        print(f"note: {note}", file=sys.stderr)
    return model


def resolve_device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        fail("--device cuda: no CUDA device is available here; use --device cpu")
    return name


def emit(args: argparse.Namespace, data: object, text: str) -> None:
    """Prints JSON with --json, else the human text."""
    print(json.dumps(data, indent=2) if getattr(args, "json", False) else text)


# ---------------------------------------------------------------- commands

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
    from .classify import classify
    from .images import load_photo

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


def cmd_filter(args: argparse.Namespace) -> None:
    from .visualize import visualize_filter

    out = output_path(args.output)
    positive(args.steps, "--steps")
    positive(args.size, "--size")
    args.model = args.model_name
    model = load_model(args)
    model.check_channel(args.layer, args.channel)
    if args.size:
        model.check_size(args.size)
    with progress_bar(f"{args.layer}:{args.channel}") as bar:
        picture = visualize_filter(model, args.layer, args.channel, recipe=args.recipe, size=args.size,
                                   steps=args.steps, seed=args.seed, progress=bar)
    picture.save(out)
    info = {**picture.info, "output": str(out)}
    emit(args, info, f"{out}: {info['layer']}:{args.channel} activation {info['activation']:.3f} "
                     f"(from {info['start']:.3f} on the start image)")


def cmd_grid(args: argparse.Namespace) -> None:
    from .visualize import filter_grid

    out = output_path(args.output)
    for value, name in ((args.steps, "--steps"), (args.size, "--size"), (args.candidates, "--candidates"),
                        (args.top, "--top"), (args.batch, "--batch")):
        positive(value, name)
    layers = [l for l in (args.layers or "").split(",") if l] if args.layers else [args.layer]
    if not layers or layers == [None]:
        fail("name a layer (convscope grid MODEL LAYER) or several with --layers a,b,c")
    args.model = args.model_name
    model = load_model(args)
    for name in layers:
        model.layer(name)
    if args.size:
        model.check_size(args.size)
    written = []
    for name in layers:
        target = out if len(layers) == 1 else out.with_name(f"{out.stem}-{name}{out.suffix}")
        with progress_bar(f"grid {name}") as bar:
            grid = filter_grid(model, name, candidates=args.candidates, top=args.top, recipe=args.recipe,
                               size=args.size, steps=args.steps, seed=args.seed, batch=args.batch, progress=bar)
        grid.sheet.save(target)
        write_json(f"{target}.json", grid.sidecar())
        written.append({"layer": grid.settings["layer"], "output": str(target), "sidecar": f"{target}.json",
                        "tiles": len(grid.tiles), "dropped": len(grid.dropped),
                        "best": grid.tiles[0]})
    emit(args, written, "\n".join(
        f"{w['output']}: {w['layer']}, {w['tiles']} tiles ({w['dropped']} dead filters dropped), "
        f"best channel {w['best']['channel']} at {w['best']['activation']:.3f}" for w in written))


def cmd_render(args: argparse.Namespace) -> None:
    from .images import stitch
    from .objective_text import parse_objective
    from .recipes import get_recipe
    from .render import render

    out = output_path(args.output)
    positive(args.count, "--count")
    positive(args.batch, "--batch")
    objective = parse_objective(args.objective)
    model = load_model(args)
    recipe = get_recipe(args.recipe, size=args.size, steps=args.steps)
    with progress_bar(str(objective)) as bar:
        result = render(model, objective, recipe, seeds=[args.seed + i for i in range(args.count)],
                        transform_seed=args.seed, batch=args.batch, progress=bar)
    picture = result.pictures[0] if args.count == 1 else stitch(result.pictures)
    picture.save(out)
    data = {"objective": str(objective), "output": str(out), "activation": result.final.tolist(),
            "recipe": recipe.as_dict(), "seed": args.seed}
    emit(args, data, f"{out}: {objective} reached " + ", ".join(f"{v:.3f}" for v in data["activation"]))


def cmd_stats(args: argparse.Namespace) -> None:
    from .objectives import channel
    from .photos import photo_set
    from .recipes import get_recipe
    from .render import render
    from .stats import fidelity, photo_activations

    positive(args.batch, "--batch")
    args.model = args.model_name
    model = load_model(args)
    info = model.layer(args.layer)
    units = parse_units(args.units) if args.units else list(range(min(8, info.channels)))
    for u in units:
        model.check_channel(args.layer, u)
    photos, skipped = photo_set(args.photos)
    for note in skipped:
        print(f"warning: skipped {note}", file=sys.stderr)
    recipe = get_recipe(args.recipe, size=args.size, steps=args.steps)
    acts = photo_activations(model, args.layer, photos)
    with progress_bar(f"stats {info.name}") as bar:
        result = render(model, [channel(args.layer, u) for u in units], recipe,
                        seeds=[args.seed + u for u in units], transform_seed=args.seed, batch=args.batch,
                        progress=bar)
    rows = []
    for u, act in zip(units, result.final.tolist()):
        best = int(acts[:, u].argmax())
        peak = float(acts[best, u])
        rows.append({"unit": u, "activation": act, "photo_max": peak, "best_photo": photos[best].name,
                     "ratio": fidelity(act, peak)})
    ratios = [r["ratio"] for r in rows if r["ratio"] is not None]
    summary = {"model": model.name, "layer": info.name, "recipe": recipe.as_dict(), "photos": len(photos),
               "skipped_photos": len(skipped), "units": rows,
               "median_ratio": sorted(ratios)[len(ratios) // 2] if ratios else None}
    lines = [f"{model.name} {info.name}, recipe {recipe.name}, {len(photos)} photos",
             f"{'unit':>5s} {'picture':>9s} {'best photo':>10s} {'ratio':>7s}  photo"]
    for r in rows:
        ratio = f"{r['ratio']:7.2f}" if r["ratio"] is not None else "      -"
        lines.append(f"{r['unit']:5d} {r['activation']:9.3f} {r['photo_max']:10.3f} {ratio}  {r['best_photo']}")
    emit(args, summary, "\n".join(lines))


def parse_floats(text: str | None, name: str) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        fail(f"cannot read {name} {text!r}: write numbers separated by commas, such as 1,1.5")
        raise AssertionError


def read_photo(path: str | None) -> tuple[object, str]:
    """The user's photo, or the built-in chelsea photo; with its name."""
    from .images import load_photo
    from .photos import builtin_photo

    if path is None:
        return builtin_photo("chelsea").pixels, "chelsea (built-in)"
    pixels, notes = load_photo(path)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    return pixels, path


def cmd_dream(args: argparse.Namespace) -> None:
    from .dream import dream

    out = output_path(args.output)
    photo, source = read_photo(args.photo)
    model = load_model(args)
    with progress_bar("dream", unit="step") as bar:
        result = dream(model, photo, args.objective, layers=[l for l in args.layers.split(",") if l],
                       layer_weights=parse_floats(args.layer_weights, "--layer-weights"),
                       octaves=args.octaves, octave_scale=args.octave_scale,
                       steps=args.steps, step_size=args.step_size, jitter=args.jitter, tile=args.tile,
                       seed=args.seed, progress=bar)
    result.picture.save(out)
    data = {"output": str(out), "photo": source, "score_before": result.score_before,
            "score_after": result.score_after, "octaves_used": result.octaves, **result.settings}
    emit(args, data, f"{out}: {data['objective']} from {result.score_before:.4g} to {result.score_after:.4g} "
                     f"({result.octaves} octaves)")


def cmd_classviz(args: argparse.Namespace) -> None:
    from .classes import resolve_class
    from .classviz import class_model

    out = output_path(args.output)
    positive(args.steps, "--steps")
    positive(args.size, "--size")
    model = load_model(args)
    target = resolve_class(model, args.target)
    checks = [models.load(name, device=resolve_device(args.device)) for name in args.check or []]
    with progress_bar(f"class {target}") as bar:
        result = class_model(model, target, recipe=args.recipe, score=args.score, until=args.until,
                             steps=args.steps, size=args.size, seed=args.seed, check=checks, progress=bar)
    result.picture.save(out)
    sidecar = {"output": str(out), **result.sidecar()}
    write_json(f"{out}.json", sidecar)
    lines = [f"{out}: class {target} ({result.name}), {result.steps_run} steps"
             + (f", reached p >= {args.until}" if result.reached else "")]
    for o in result.opinions:
        lines.append(f"  {o.model}: p = {o.probability:.4f}, rank {o.rank}; top: "
                     + ", ".join(f"{t['name']} {t['probability']:.3f}" for t in o.top[:3]))
    emit(args, sidecar, "\n".join(lines))


def cmd_saliency(args: argparse.Namespace) -> None:
    from .classes import resolve_class
    from .saliency import saliency

    out = output_path(args.output)
    positive(args.samples, "--samples")
    photo, source = read_photo(args.photo)
    model = load_model(args)
    target = resolve_class(model, args.target) if args.target is not None else None
    result = saliency(model, photo, target, samples=args.samples, noise=args.noise, seed=args.seed)
    result.picture.save(out)
    data = {"output": str(out), "photo": source, "class": result.target, "name": result.name,
            "probability": result.probability, "samples": args.samples, "noise": args.noise}
    emit(args, data, f"{out}: saliency of class {result.target} ({result.name}, p = {result.probability:.3f})")


def cmd_atlas(args: argparse.Namespace) -> None:
    from tqdm import tqdm

    from .atlas import build_atlas

    positive(args.batch, "--batch")
    positive(args.steps, "--steps")
    args.model = args.model_name
    model = load_model(args)
    layers = [l for l in args.layers.split(",") if l] if args.layers else None
    factory = None
    if args.ray:
        from .atlas.ray_runner import ray_runner_factory

        factory = ray_runner_factory(args.ray, args.gpus_per_task)
    elif args.gpus_per_task:
        fail("--gpus-per-task is for --ray")
    bar = tqdm(desc="atlas", unit="unit", file=sys.stderr, dynamic_ncols=True, disable=None,
               bar_format="{l_bar}{bar}| {n:.0f}/{total} units [{elapsed}<{remaining}{postfix}]")
    start: list[float] = []
    workers: list[int | None] = [None]

    def update(done: float, total: int, busy: int | None) -> None:
        bar.total = total
        if not start:
            start.extend((done, bar.format_dict["elapsed"]))
        if busy is not None:
            workers[0] = busy
        bar.update(done - bar.n)
        elapsed = bar.format_dict["elapsed"] - start[1]
        if elapsed > 0 and done > start[0]:
            busy_text = f", {workers[0]} workers busy" if workers[0] is not None else ""
            bar.set_postfix_str(f"{60 * (done - start[0]) / elapsed:.1f} units/min{busy_text}", refresh=False)

    try:
        summary = build_atlas(model, args.out, layers=layers, recipe=args.recipe, steps=args.steps, size=args.size,
                              photos_dir=args.photos, batch=args.batch, seed=args.seed, force=args.force,
                              progress=update, runner_factory=factory)
    finally:
        bar.close()
    for note in summary.skipped_photos:
        print(f"warning: skipped {note}", file=sys.stderr)
    data = {"out": str(summary.root), "index": str(summary.root / "index.html"), "units": summary.units,
            "rendered": summary.rendered, "layers": summary.layers, "skipped_photos": len(summary.skipped_photos)}
    emit(args, data, f"{data['index']}: {summary.units} units in {len(summary.layers)} layers "
                     f"({summary.rendered} rendered now, the rest already there)"
         + (f"; {len(summary.skipped_photos)} unreadable photos skipped" if summary.skipped_photos else ""))


def cmd_twins(args: argparse.Namespace) -> None:
    from .photos import photo_set
    from .twins import add_picture_view, angle_list, find_twins

    if args.angles is not None and args.angle_step is not None:
        fail("give --angles or --angle-step, not both")
    angles = angle_list(parse_floats(args.angles, "--angles"), args.angle_step)
    layers = [l for l in args.layers.split(",") if l] if args.layers else [args.layer]
    if layers == [None]:
        fail("name a layer (convscope twins MODEL LAYER) or several with --layers a,b,c")
    out = None if args.summary else output_path(args.output)
    args.model = args.model_name
    model = load_model(args)
    for name in layers:
        model.layer(name)
    photos, skipped = photo_set(args.photos)
    for note in skipped:
        print(f"warning: skipped {note}", file=sys.stderr)
    reports = [find_twins(model, name, photos, angles=angles, threshold=args.threshold) for name in layers]
    if args.summary:
        rows = [r.summary() for r in reports]
        lines = [f"{'layer':12s} {'units':>5s} {'pairs':>5s} {'with twin':>10s}  by angle"]
        for r in rows:
            by = ", ".join(f"{a}: {v['units']} ({v['fraction']:.0%})" for a, v in r["by_angle"].items())
            lines.append(f"{r['layer']:12s} {r['units']:5d} {r['pairs']:5d} {r['with_twin']:5d} "
                         f"({r['fraction']:3.0%})  {by}")
        emit(args, rows, "\n".join(lines))
        return
    report = reports[0]
    picture_of = twin_pictures(model, report, args)
    add_picture_view(model, report, picture_of, top=args.top)
    data = {**report.summary(), "threshold": report.threshold, "angles": report.angles, **report.settings,
            "pairs_above_threshold": [p.__dict__ for p in report.pairs]}
    if report.sheet is not None:
        report.sheet.save(out)
        data["sheet"] = str(out)
    write_json(f"{out}.json", data)
    lines = [f"{report.layer}: {len(report.pairs)} twin pairs; {report.with_twin} of {report.units} units "
             f"({report.with_twin / report.units:.0%}) have a rotated twin"]
    lines += [f"  {p.unit} -> {p.twin} at {p.angle:g} deg: score {p.score:.2f} (unrotated {p.unrotated:.2f})"
              + (f", pictures {p.picture_correlation:.2f}" if p.picture_correlation is not None else "")
              for p in report.pairs[:args.top]]
    lines.append(f"{out}.json" + (f", {out}" if report.sheet is not None else " (no pair above the threshold)"))
    emit(args, data, "\n".join(lines))


def twin_pictures(model: models.VisionModel, report, args: argparse.Namespace):
    """Unit pictures for the twin sheet: from an atlas folder, else rendered now (lucid)."""
    from .images import Picture, load_photo
    from .atlas.store import safe_name, unit_stem
    from .objectives import channel
    from .recipes import get_recipe
    from .render import render

    units = sorted({u for p in report.pairs[:args.top] for u in (p.unit, p.twin)})
    if args.atlas:
        folder = Path(args.atlas) / "units" / safe_name(report.layer)
        missing = [u for u in units if not (folder / f"{unit_stem(u)}.png").is_file()]
        if missing:
            fail(f"the atlas in {args.atlas} has no pictures of {report.layer} units {missing[:5]}")
        return lambda u: Picture(load_photo(folder / f"{unit_stem(u)}.png")[0])
    if not units:
        return lambda u: None
    recipe = get_recipe("lucid", steps=args.steps)
    with progress_bar(f"pictures of {len(units)} units") as bar:
        result = render(model, [channel(report.layer, u) for u in units], recipe, seeds=units, progress=bar)
    pictures = dict(zip(units, result.pictures))
    return pictures.__getitem__


def cmd_demo(args: argparse.Namespace) -> None:
    from .classify import classify
    from .photos import builtin_photo
    from .visualize import filter_grid, visualize_filter

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        fail(f"{out} is a file: give a folder for the demo pictures")
    model = load_model(args)
    for name in ("chelsea", "coffee"):
        top = classify(model, builtin_photo(name).pixels, 3)
        print(f"{name}: " + ", ".join(f"{p.name} {p.probability:.0%}" for p in top))
    written = []
    with progress_bar("filter block8:12 (keras2016)") as bar:
        pic = visualize_filter(model, "block8", 12, recipe="keras2016", progress=bar)
    written.append(pic.save(out / "filter-block8-12-keras2016.png"))
    for layer in ("block3", "block8"):
        with progress_bar(f"grid {layer} (keras2016)") as bar:
            grid = filter_grid(model, layer, recipe="keras2016", progress=bar)
        written.append(grid.sheet.save(out / f"grid-{layer}-keras2016.png"))
        write_json(out / f"grid-{layer}-keras2016.png.json", grid.sidecar())
    with progress_bar("grid block8 (lucid, 256 steps)") as bar:
        grid = filter_grid(model, "block8", candidates=9, top=9, recipe="lucid", steps=256, progress=bar)
    written.append(grid.sheet.save(out / "grid-block8-lucid.png"))
    write_json(out / "grid-block8-lucid.png.json", grid.sidecar())
    print("pictures written:")
    for path in written:
        print(f"  {path}")


# ---------------------------------------------------------------- parser

def add_model_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=models.DEFAULT_MODEL,
                   help="model name (see: convscope models) or path/to/file.py:factory")
    add_common(p)


def add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto", help="auto (CUDA when there is one), cpu or cuda")
    p.add_argument("--weights", metavar="FILE", help="weights file (vgg16/vgg19: Keras .h5 or torchvision .pth)")
    p.add_argument("--kernel-orientation", default="auto", choices=["auto", "as-stored", "flipped"],
                   help="for Keras files: whether conv kernels are stored flipped (default: detect)")


def add_recipe_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--recipe", default=DEFAULT_RECIPE, choices=sorted(RECIPES),
                   help=f"render recipe (default {DEFAULT_RECIPE})")
    p.add_argument("--size", type=int, help="image size in px (recipe default: 128)")
    p.add_argument("--steps", type=int, help="optimization steps (keras2016: 20, lucid: 512)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="convscope", description="See what a convolutional network has learned.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="classify two photos and render the article's pictures into a folder")
    p.add_argument("out", nargs="?", default="out", help="output folder (default: out)")
    add_model_option(p)
    p.set_defaults(run=cmd_demo)

    p = sub.add_parser("models", help="list the models")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_models)

    p = sub.add_parser("layers", help="list a model's layers")
    p.add_argument("model_name", metavar="MODEL")
    p.add_argument("--json", action="store_true")
    add_common(p)
    p.set_defaults(run=cmd_layers)

    p = sub.add_parser("classify", help="top classes of photos")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("--top", type=int, default=5)
    p.add_argument("--json", action="store_true")
    add_model_option(p)
    p.set_defaults(run=cmd_classify)

    p = sub.add_parser("filter", help="the picture one filter (channel) responds to most")
    p.add_argument("model_name", metavar="MODEL")
    p.add_argument("layer", metavar="LAYER")
    p.add_argument("channel", type=int, metavar="CHANNEL")
    p.add_argument("-o", "--output", required=True, help="output .png or .jpg")
    add_recipe_options(p)
    p.add_argument("--json", action="store_true")
    add_common(p)
    p.set_defaults(run=cmd_filter)

    p = sub.add_parser("grid", help="a sheet of a layer's strongest filters (the article's 8x8 grids)")
    p.add_argument("model_name", metavar="MODEL")
    p.add_argument("layer", metavar="LAYER", nargs="?")
    p.add_argument("--layers", help="several layers, comma-separated: one sheet each")
    p.add_argument("-o", "--output", required=True, help="output .png (with a .json sidecar beside it)")
    p.add_argument("--candidates", type=int, default=200, help="first filters to render (default 200)")
    p.add_argument("--top", type=int, default=64, help="best filters to keep (default 64)")
    p.add_argument("--batch", type=int, default=32, help="units optimized together (default 32)")
    add_recipe_options(p)
    p.add_argument("--json", action="store_true")
    add_common(p)
    p.set_defaults(run=cmd_grid)

    p = sub.add_parser("render", help="pictures for any objective, e.g. \"block8:12 - 0.5*block8:40\"")
    p.add_argument("objective", metavar="OBJECTIVE")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--count", type=int, default=1, help="pictures with different seeds, on one sheet")
    p.add_argument("--batch", type=int, default=32)
    add_recipe_options(p)
    p.add_argument("--json", action="store_true")
    add_model_option(p)
    p.set_defaults(run=cmd_render)

    p = sub.add_parser("dream", help="DeepDream: amplify what layers see in a photo")
    p.add_argument("photo", nargs="?", metavar="PHOTO", help="PNG or JPEG (default: a built-in photo)")
    p.add_argument("-o", "--output", required=True, help="output .jpg or .png (the photo's size)")
    p.add_argument("--layers", default="block8,block10", help="layers to amplify (default block8,block10)")
    p.add_argument("--layer-weights", help="one weight per layer, e.g. 1,1.5")
    p.add_argument("--objective", help="any objective text instead of the layers, e.g. block8:12 or logits:18")
    p.add_argument("--octaves", type=int, default=4)
    p.add_argument("--octave-scale", type=float, default=1.4)
    p.add_argument("--steps", type=int, default=10, help="steps per octave")
    p.add_argument("--step-size", type=float, default=0.01, help="mean change per pixel and step, on 0..1")
    p.add_argument("--jitter", type=int, default=32, help="random roll in px each step")
    p.add_argument("--tile", type=int, default=512, help="gradient tile size in px (bounded memory)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    add_model_option(p)
    p.set_defaults(run=cmd_dream)

    p = sub.add_parser("classviz", help="the image the network takes for a class (the article's fooling images)")
    p.add_argument("target", metavar="CLASS", help="class index (65) or name (\"sea snake\")")
    p.add_argument("-o", "--output", default="class.png", help="output .png (with a .json sidecar)")
    p.add_argument("--recipe", default="keras2016", choices=sorted(RECIPES), help="default keras2016")
    p.add_argument("--score", default="logit", choices=["logit", "prob"], help="maximize the logit or softmax")
    p.add_argument("--until", type=float, help="stop when the class probability reaches this, e.g. 0.999")
    p.add_argument("--steps", type=int, help="step budget (default: keras2016 60, lucid 512)")
    p.add_argument("--size", type=int, help="image size (default: the model's input size)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--check", action="append", metavar="MODEL",
                   help="a second network to ask (repeatable; built-in models with their default weights)")
    p.add_argument("--json", action="store_true")
    add_model_option(p)
    p.set_defaults(run=cmd_classviz)

    p = sub.add_parser("saliency", help="where in a photo the class score is most sensitive")
    p.add_argument("photo", nargs="?", metavar="PHOTO", help="PNG or JPEG (default: a built-in photo)")
    p.add_argument("--class", dest="target", metavar="CLASS", help="index or name (default: the top class)")
    p.add_argument("-o", "--output", default="saliency.png")
    p.add_argument("--samples", type=int, default=16, help="noisy copies averaged (SmoothGrad); 1 = plain")
    p.add_argument("--noise", type=float, default=0.15, help="noise std on 0..1; 0 = plain Simonyan")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    add_model_option(p)
    p.set_defaults(run=cmd_saliency)

    p = sub.add_parser("atlas", help="every unit of a network, rendered and measured, as a static site")
    p.add_argument("model_name", metavar="MODEL", nargs="?", default=models.DEFAULT_MODEL)
    p.add_argument("--out", required=True, help="output folder (resumable: run again to continue)")
    p.add_argument("--layers", help="comma-separated layers (default: every layer, logits included)")
    p.add_argument("--photos", help="folder of your own photos for the statistics (default: built-in set)")
    p.add_argument("--batch", type=int, default=32, help="units optimized together (default 32)")
    p.add_argument("--force", action="store_true", help="replace an atlas with other settings in --out")
    p.add_argument("--ray", metavar="ADDRESS", help="render the batches as Ray tasks: auto (a local Ray "
                   "instance) or a cluster address such as 10.0.0.5:6379")
    p.add_argument("--gpus-per-task", type=float, default=0.0, help="with --ray: GPUs for each batch task")
    add_recipe_options(p)
    p.add_argument("--json", action="store_true")
    add_common(p)
    p.set_defaults(run=cmd_atlas)

    p = sub.add_parser("twins", help="find units that are rotated copies of each other")
    p.add_argument("model_name", metavar="MODEL")
    p.add_argument("layer", metavar="LAYER", nargs="?")
    p.add_argument("--layers", help="several layers, comma-separated (with --summary)")
    p.add_argument("--summary", action="store_true", help="only the per-layer summary")
    p.add_argument("-o", "--output", default="twins.png", help="sheet of the strongest pairs (+ .json)")
    p.add_argument("--angles", help="angles to try, in degrees (default 90,180,270)")
    p.add_argument("--angle-step", type=float, help="try every multiple of this angle instead")
    p.add_argument("--threshold", type=float, default=0.7, help="lowest twin score reported (default 0.7)")
    p.add_argument("--top", type=int, default=8, help="pairs on the sheet (default 8)")
    p.add_argument("--photos", help="folder of your own photos (default: the built-in set)")
    p.add_argument("--atlas", help="an atlas folder to take the unit pictures from")
    p.add_argument("--steps", type=int, default=256, help="lucid steps for pictures rendered now")
    p.add_argument("--json", action="store_true")
    add_common(p)
    p.set_defaults(run=cmd_twins)

    p = sub.add_parser("stats", help="fidelity: picture activation over the best real photo's")
    p.add_argument("model_name", metavar="MODEL")
    p.add_argument("layer", metavar="LAYER")
    p.add_argument("--units", help="units to measure, e.g. 0-7 (default: the first 8)")
    p.add_argument("--photos", help="folder of your own photos (default: the built-in set)")
    p.add_argument("--batch", type=int, default=32)
    add_recipe_options(p)
    p.add_argument("--json", action="store_true")
    add_common(p)
    p.set_defaults(run=cmd_stats)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except ConvscopeError as e:
        print(f"convscope: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        if isinstance(e, BrokenPipeError):  # the reader went away (| head): not an error
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        print(f"convscope: error: {e.strerror or e}: {e.filename or ''}".rstrip(": "), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("convscope: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
