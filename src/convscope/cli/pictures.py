"""Commands that render units: filter, grid, render, stats, demo."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..images import write_json
from .common import emit, fail, load_model, output_path, parse_units, positive, progress_bar


def cmd_filter(args: argparse.Namespace) -> None:
    from ..visualize import visualize_filter

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
    from ..visualize import filter_grid

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
    from ..images import stitch
    from ..objective_text import parse_objective
    from ..recipes import get_recipe
    from ..render import render

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
            "recipe": recipe.as_dict(), "seed": args.seed, "precision": model.effective_precision}
    emit(args, data, f"{out}: {objective} reached " + ", ".join(f"{v:.3f}" for v in data["activation"]))


def cmd_stats(args: argparse.Namespace) -> None:
    from ..objectives import channel
    from ..photos import photo_set
    from ..recipes import get_recipe
    from ..render import render
    from ..stats import fidelity, photo_activations

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
    summary = {"model": model.name, "layer": info.name, "recipe": recipe.as_dict(),
               "precision": model.effective_precision, "photos": len(photos),
               "skipped_photos": len(skipped), "units": rows,
               "median_ratio": sorted(ratios)[len(ratios) // 2] if ratios else None}
    lines = [f"{model.name} {info.name}, recipe {recipe.name}, {len(photos)} photos",
             f"{'unit':>5s} {'picture':>9s} {'best photo':>10s} {'ratio':>7s}  photo"]
    for r in rows:
        ratio = f"{r['ratio']:7.2f}" if r["ratio"] is not None else "      -"
        lines.append(f"{r['unit']:5d} {r['activation']:9.3f} {r['photo_max']:10.3f} {ratio}  {r['best_photo']}")
    emit(args, summary, "\n".join(lines))


def cmd_demo(args: argparse.Namespace) -> None:
    from ..classify import classify
    from ..photos import builtin_photo
    from ..visualize import filter_grid, visualize_filter

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
