"""Commands that render units: filter, grid, render, stats, and the demo."""
from __future__ import annotations

import argparse
from pathlib import Path

from convscope.cli.common import (
    cli_recipe,
    emit,
    fail,
    load_model,
    output_path,
    parse_units,
    plural,
    positive,
    progress_bar,
    ray_cluster,
    say,
    shards_on,
    warn_skipped,
)
from convscope.cli.spec_flags import spec_from_args
from convscope.io.files import check_alpha_format, write_json
from convscope.io.picture import Picture, labelled, row, stitch


def parse_thresholds(text: str | None) -> list[int]:
    """'32,128,512' to [32, 128, 512]."""
    if not text:
        return []
    try:
        steps = [int(v) for v in text.split(",")]
    except ValueError:
        fail(f"cannot read --thresholds {text!r}: write steps separated by commas, such as 32,128,512")
        raise AssertionError
    if min(steps) <= 0:
        fail(f"--thresholds are steps from 1 on, got {text!r}")
    return steps


def steps_strip(snapshots: dict[int, list[Picture]], final: list[Picture], steps: int) -> Picture:
    """The pictures at each chosen step, and at the end, side by side with their step."""
    frames = {**snapshots, steps: final}
    return row([labelled(stitch(pics), f"step {step}") for step, pics in sorted(frames.items())])


def importance_output(args: argparse.Namespace, out: Path) -> None:
    """Checks, before any work, that --alpha goes with a PNG."""
    if args.alpha:
        check_alpha_format(out)


def save_picture(picture: Picture, out: Path, args: argparse.Namespace) -> dict:
    """Writes the picture (RGBA with --alpha) and, with --importance, its map beside it; returns
    the map's path, if written."""
    picture.save(out, alpha=args.alpha)
    written: dict = {}
    if args.importance:
        written["importance_map"] = str(picture.importance_picture().save(
            out.with_name(f"{out.stem}.importance.png")))
    return written


def strip_path(out: Path) -> Path:
    return out.with_name(f"{out.stem}.steps{out.suffix}")


def cmd_filter(args: argparse.Namespace) -> None:
    from convscope.engine.objectives import unit_number
    from convscope.methods.filters import visualize_filter

    out = output_path(args.output)
    importance_output(args, out)
    positive(args.steps, "--steps")
    thresholds = parse_thresholds(args.thresholds)
    channel = unit_number(args.channel)
    recipe = cli_recipe(args)
    args.model = args.model_name
    model = load_model(args)
    with progress_bar(f"{args.layer}:{channel}") as bar:
        picture = visualize_filter(model, args.layer, channel, recipe=recipe, seed=args.seed,
                                   thresholds=thresholds, progress=bar)
    info = {**picture.info, "output": str(out), "importance": picture.importance_summary(),
            **save_picture(picture, out, args)}
    if thresholds:
        snapshots = {step: [p] for step, p in picture.snapshots.items()}
        info["steps_strip"] = str(steps_strip(snapshots, [picture], picture.info["recipe"]["steps"])
                                  .save(strip_path(out)))
    if "kernel" in picture.extras:
        info["kernel"] = str(picture.extras["kernel"].save(out.with_name(f"{out.stem}.kernel{out.suffix}")))
    emit(args, info, f"{out}: {info['objective']} activation {info['activation']:.3f} "
                     f"(from {info['start']:.3f} on the start image; the saved picture: "
                     f"{info['picture_activation']:.3f})"
                     + (f"\n{info['kernel']}: its kernel, enlarged" if "kernel" in info else ""))


def cmd_grid(args: argparse.Namespace) -> None:
    from convscope.data.photo_sources import photo_source
    from convscope.methods.filters import filter_grid

    out = output_path(args.output)
    importance_output(args, out)
    for value, name in ((args.steps, "--steps"), (args.candidates, "--candidates"),
                        (args.top, "--top"), (args.batch, "--batch")):
        positive(value, name)
    layers = [l for l in (args.layers or "").split(",") if l] if args.layers else [args.layer]
    if not layers or layers == [None]:
        fail("name a layer (convscope grid MODEL LAYER) or several with --layers a,b,c")
    recipe = cli_recipe(args)
    photos = photo_source(args.photos)
    with ray_cluster(args, needs_photos=True) as cluster:
        photos.runner = shards_on(cluster)
        args.model = args.model_name
        model = load_model(args)
        for name in layers:
            model.layer(name)
        written = []
        for name in layers:
            target = out if len(layers) == 1 else out.with_name(f"{out.stem}-{name}{out.suffix}")
            with progress_bar(f"grid {name}") as bar:
                grid = filter_grid(model, name, candidates=args.candidates, top=args.top, recipe=recipe,
                                   seed=args.seed, batch=args.batch, photos=photos, select=args.select, progress=bar)
            sheet = save_picture(grid.sheet, target, args)
            write_json(f"{target}.json", grid.sidecar())
            behind = sum(drop["reason"] == "behind" for drop in grid.dropped)
            entry = {"layer": grid.settings["layer"], "output": str(target), "sidecar": f"{target}.json",
                     "tiles": len(grid.tiles), "dropped": len(grid.dropped) - behind, "behind": behind,
                     "best": grid.tiles[0], **sheet}
            if grid.kernels is not None:
                entry["kernels"] = str(grid.kernels.save(target.with_name(f"{target.stem}.kernels{target.suffix}")))
            written.append(entry)
    warn_skipped(photos.skipped)
    emit(args, written, "\n".join(grid_line(w) for w in written))


def grid_line(entry: dict) -> str:
    """What ``grid`` says of one sheet it wrote."""
    behind = f", {entry['behind']} far behind dropped early" if entry["behind"] else ""
    kernels = f"\n{entry['kernels']}: the same units' kernels" if "kernels" in entry else ""
    return (f"{entry['output']}: {entry['layer']}, {plural(entry['tiles'], 'tile')} "
            f"({plural(entry['dropped'], 'dead filter')} dropped{behind}), best channel {entry['best']['channel']} "
            f"at {entry['best']['activation']:.3f}{kernels}")


def cmd_render(args: argparse.Namespace) -> None:
    from convscope.engine.objective_text import parse_objective
    from convscope.engine.render import render

    out = output_path(args.output)
    importance_output(args, out)
    positive(args.count, "--count")
    positive(args.batch, "--batch")
    thresholds = parse_thresholds(args.thresholds)
    objective = parse_objective(args.objective)
    recipe = cli_recipe(args)
    model = load_model(args)
    with progress_bar(str(objective)) as bar:
        result = render(model, objective, recipe, seeds=[args.seed + i for i in range(args.count)],
                        transform_seed=args.seed, batch=args.batch, thresholds=thresholds, progress=bar)
    picture = result.pictures[0] if args.count == 1 else stitch(result.pictures)
    written = save_picture(picture, out, args)
    data = {"objective": str(objective), "output": str(out), "activation": result.final.tolist(),
            "picture_activation": result.picture_final.tolist(), "recipe": recipe.as_dict(), "seed": args.seed,
            "precision": model.effective_precision, "importance": [p.importance_summary() for p in result.pictures],
            **written}
    if thresholds:
        data["steps_strip"] = str(steps_strip(result.snapshots, result.pictures, recipe.steps).save(strip_path(out)))
    emit(args, data, f"{out}: {objective} reached " + ", ".join(f"{v:.3f}" for v in data["activation"]))


def cmd_stats(args: argparse.Namespace) -> None:
    from convscope.api import StatsSpec, stats
    from convscope.cli.trust_command import measures_table
    from convscope.data.photo_sources import photo_source

    positive(args.steps, "--steps")
    recipe = cli_recipe(args)
    spec = spec_from_args(StatsSpec, args, recipe=recipe, units=tuple(parse_units(args.units)) if args.units else ())
    photos = photo_source(args.photos)  # a missing or empty folder is refused before the model loads
    with ray_cluster(args, needs_photos=True) as cluster:
        photos.runner = shards_on(cluster)
        args.model = args.model_name
        model = load_model(args)
        info = model.layer(args.layer)
        with progress_bar(f"stats {info.name}") as bar:
            report = stats(model, args.layer, photos=photos, progress=bar, spec=spec)
    warn_skipped(photos.skipped)
    summary = {**report.settings, "skipped_photos": len(photos.skipped), "units": report.rows,
               "median_ratio": report.median_ratio}
    lines = [f"{model.name} {info.name} (read {report.settings['read']}), recipe {recipe.name}, "
             f"{plural(report.settings['photos'], 'photo')}", *measures_table(report.rows, report.settings["after"])]
    if isinstance(report.settings["trust"], str):
        lines.append(f"trust {report.settings['trust']}")
    emit(args, summary, "\n".join(lines))


def cmd_demo(args: argparse.Namespace) -> None:
    """The article's three results: a filter and its layer's grid, a DeepDream of the built-in
    cat photo, and a sea snake the network is 99.9% sure of."""
    from convscope.io.builtin_photos import builtin_photo
    from convscope.methods.class_models import class_model
    from convscope.methods.classify import classify
    from convscope.methods.dream import dream
    from convscope.methods.filters import filter_grid, visualize_filter

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        fail(f"{out} is a file: give a folder for the demo pictures")
    model = load_model(args)
    cat = builtin_photo("chelsea").pixels
    seen = classify(model, cat, 3)
    with progress_bar("filter block8:12 (keras2016)") as bar:
        pic = visualize_filter(model, "block8", 12, recipe="keras2016", progress=bar)
    filter_path = pic.save(out / "filter-block8-12-keras2016.png")
    with progress_bar("grid block8 (keras2016)") as bar:
        grid = filter_grid(model, "block8", recipe="keras2016", progress=bar)
    grid_path = grid.sheet.save(out / "grid-block8-keras2016.png")
    write_json(out / "grid-block8-keras2016.png.json", grid.sidecar())
    with progress_bar("dream chelsea", unit="step") as bar:
        dreamt = dream(model, cat, progress=bar)
    dream_path = dreamt.picture.save(out / "dream-chelsea.jpg")
    with progress_bar("class sea snake (keras2016)") as bar:
        snake = class_model(model, "sea snake", until=0.999, progress=bar)
    snake_path = snake.picture.save(out / "class-sea-snake.png")
    write_json(out / "class-sea-snake.png.json", snake.sidecar())
    sure = snake.opinions[0].probability
    data = {"folder": str(out), "classify_chelsea": [{"name": p.name, "probability": p.probability} for p in seen],
            "filter": str(filter_path), "grid": str(grid_path), "grid_tiles": len(grid.tiles),
            "dream": str(dream_path), "dream_objective": dreamt.settings["objective"],
            "dream_score_before": dreamt.score_before, "dream_score_after": dreamt.score_after,
            "class_model": str(snake_path), "class_probability": sure, "class_steps": snake.steps_run}
    emit(args, data, "\n".join([
        "the built-in cat photo (chelsea): " + ", ".join(f"{p.name} {p.probability:.0%}" for p in seen),
        f"1. the article's grid: the best {len(grid.tiles)} of block8's filters, from gray noise in 20 steps: "
        f"{grid_path}",
        f"   and one of them, filter 12: {filter_path}",
        f"2. DeepDream of the cat photo ({dreamt.settings['objective']} from {dreamt.score_before:.3g} to "
        f"{dreamt.score_after:.3g}): {dream_path}",
        f"3. a fooling image: the network is {sure:.2%} sure it is a sea snake (p = {sure:.4f} after "
        f"{snake.steps_run} steps): {snake_path}"]))
    if not args.json:
        say("next: convscope filter efficientnet-lite0 block8 12 -o lucid.png --recipe lucid "
            "(the same filter with Lucid's recipe)")
