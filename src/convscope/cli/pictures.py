"""Commands that render units and objectives: filter, grid, render, stats, and the demo."""
from __future__ import annotations

import argparse
from pathlib import Path

from convscope import api
from convscope.cli.common import (
    cli_recipe,
    emit,
    fail,
    load_model,
    parse_units,
    plural,
    progress_bar,
    ray_runner,
    say,
    warn_skipped,
)
from convscope.cli.flags import (
    LAYER_HELP,
    Command,
    importance_flags,
    json_flag,
    model_argument,
    model_flag,
    model_flags,
    photos_flag,
    ray_flags,
    recipe_flags,
)
from convscope.cli.spec_flags import spec_from_args
from convscope.cli.trust_command import measures_table


def strip_path(out: Path) -> Path:
    """Where the steps strip of ``out`` goes: NAME.steps.png beside it."""
    return out.with_name(f"{out.stem}.steps{out.suffix}")


def cmd_filter(args: argparse.Namespace) -> None:
    out = api.check_output_image(args.output, alpha=args.alpha)
    spec = spec_from_args(api.FilterSpec, args, recipe=cli_recipe(args))
    args.model = args.model_name
    model = load_model(args)
    with progress_bar(f"{args.layer}:{args.channel}") as bar:
        picture = api.filter(model, args.layer, args.channel, progress=bar, spec=spec)
    info = {**picture.info, "output": str(out), "importance": picture.importance_summary(),
            **api.save_with_importance(picture, out, args.alpha, args.importance)}
    if spec.thresholds:
        snapshots = {step: [p] for step, p in picture.snapshots.items()}
        info["steps_strip"] = str(api.steps_strip(snapshots, [picture], picture.info["recipe"]["steps"])
                                  .save(strip_path(out)))
    if "kernel" in picture.extras:
        info["kernel"] = str(picture.extras["kernel"].save(out.with_name(f"{out.stem}.kernel{out.suffix}")))
    emit(args, info, f"{out}: {info['objective']} activation {info['activation']:.3f} "
                     f"(from {info['start']:.3f} on the start image; the saved picture: "
                     f"{info['picture_activation']:.3f})"
                     + (f"\n{info['kernel']}: its kernel, enlarged" if "kernel" in info else ""))


def cmd_grid(args: argparse.Namespace) -> None:
    out = api.check_output_image(args.output, alpha=args.alpha)
    layers = [l for l in (args.layers or "").split(",") if l] if args.layers else [args.layer]
    if not layers or layers == [None]:
        fail("name a layer (convscope grid MODEL LAYER) or several with --layers a,b,c")
    photos = api.photo_source(args.photos)  # a missing or empty folder is refused before the model loads
    spec = spec_from_args(api.GridSpec, args, recipe=cli_recipe(args), photos=photos)
    with ray_runner(args, needs_photos=True) as runner:
        photos.runner = runner
        args.model = args.model_name
        model = load_model(args)
        for name in layers:
            model.layer(name)
        written = []
        for name in layers:
            target = out if len(layers) == 1 else out.with_name(f"{out.stem}-{name}{out.suffix}")
            with progress_bar(f"grid {name}") as bar:
                grid = api.grid(model, name, progress=bar, spec=spec)
            sheet = api.save_with_importance(grid.sheet, target, args.alpha, args.importance)
            api.write_json(f"{target}.json", grid.sidecar())
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
    out = api.check_output_image(args.output, alpha=args.alpha)
    spec = spec_from_args(api.RenderSpec, args, recipe=cli_recipe(args))
    objective = api.parse_objective(args.objective)
    model = load_model(args)
    with progress_bar(str(objective)) as bar:
        result = api.pictures(model, objective, progress=bar, spec=spec)
    picture = result.pictures[0] if spec.count == 1 else api.stitch(result.pictures)
    written = api.save_with_importance(picture, out, args.alpha, args.importance)
    recipe = spec.resolved
    data = {"objective": str(objective), "output": str(out), "activation": result.final.tolist(),
            "picture_activation": result.picture_final.tolist(), "recipe": recipe.as_dict(), "seed": spec.seed,
            "precision": model.effective_precision, "importance": [p.importance_summary() for p in result.pictures],
            **written}
    if spec.thresholds:
        data["steps_strip"] = str(api.steps_strip(result.snapshots, result.pictures, recipe.steps)
                                  .save(strip_path(out)))
    emit(args, data, f"{out}: {objective} reached " + ", ".join(f"{v:.3f}" for v in result.final.tolist()))


def cmd_stats(args: argparse.Namespace) -> None:
    recipe = cli_recipe(args)
    spec = spec_from_args(api.StatsSpec, args, recipe=recipe, units=tuple(parse_units(args.units)) if args.units else ())
    photos = api.photo_source(args.photos)  # a missing or empty folder is refused before the model loads
    with ray_runner(args, needs_photos=True) as runner:
        photos.runner = runner
        args.model = args.model_name
        model = load_model(args)
        info = model.layer(args.layer)
        with progress_bar(f"stats {info.name}") as bar:
            report = api.stats(model, args.layer, photos=photos, progress=bar, spec=spec)
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
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        fail(f"{out} is a file: give a folder for the demo pictures")
    model = load_model(args)
    cat = api.builtin_photo("chelsea").pixels
    seen = api.classify(model, cat, 3)
    with progress_bar("filter block8:12 (keras2016)") as bar:
        pic = api.filter(model, "block8", 12, recipe="keras2016", progress=bar)
    filter_path = pic.save(out / "filter-block8-12-keras2016.png")
    with progress_bar("grid block8 (keras2016)") as bar:
        grid = api.grid(model, "block8", recipe="keras2016", progress=bar)
    grid_path = grid.sheet.save(out / "grid-block8-keras2016.png")
    api.write_json(out / "grid-block8-keras2016.png.json", grid.sidecar())
    with progress_bar("dream chelsea", unit="step") as bar:
        dreamt = api.dream(model, cat, progress=bar)
    dream_path = dreamt.picture.save(out / "dream-chelsea.jpg")
    with progress_bar("class sea snake (keras2016)") as bar:
        snake = api.classviz(model, "sea snake", until=0.999, progress=bar)
    snake_path = snake.picture.save(out / "class-sea-snake.png")
    api.write_json(out / "class-sea-snake.png.json", snake.sidecar())
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


def demo_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("out", nargs="?", default="out", help="output folder (default: out)")


def filter_arguments(p: argparse.ArgumentParser) -> None:
    model_argument(p)
    p.add_argument("layer", metavar="LAYER", help=LAYER_HELP)
    p.add_argument("channel", metavar="CHANNEL", help="the unit's number in the layer, from 0 (a filter of a conv "
                   "layer, a class of logits)")
    p.add_argument("-o", "--output", required=True, help="output .png or .jpg (for the first convolution its "
                   "kernel is written beside it as NAME.kernel.png)")


def grid_arguments(p: argparse.ArgumentParser) -> None:
    model_argument(p)
    p.add_argument("layer", metavar="LAYER", nargs="?", help=LAYER_HELP)
    p.add_argument("--layers", help="several layers, comma-separated: one sheet each")
    p.add_argument("-o", "--output", required=True, help="output .png (with a .json sidecar beside it)")


def render_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("objective", metavar="OBJECTIVE",
                   help="what to maximize, e.g. block8:12 or \"block8:12 - 0.5*block8:40\"; one that starts "
                        "with a minus goes after --, or with a space: \" -block8:12\"")
    p.add_argument("-o", "--output", required=True)


def stats_arguments(p: argparse.ArgumentParser) -> None:
    model_argument(p)
    p.add_argument("layer", metavar="LAYER", help=LAYER_HELP)
    p.add_argument("--units", help="units to measure, e.g. 0-7 (default: the first 8)")


COMMANDS = [
    Command("demo", "the article's three results in a folder: a filter grid, a DeepDream of the cat photo and a "
            "fooling image of a sea snake", cmd_demo, demo_arguments, groups=(model_flag, json_flag),
            brief="the article's three results: a filter grid, a DeepDream, a fooling image"),
    Command("filter", "the picture one filter (channel) responds to most", cmd_filter, filter_arguments,
            api.FilterSpec, (recipe_flags, importance_flags, json_flag, model_flags)),
    Command("grid", "a sheet of a layer's strongest filters (the article's 8x8 grids)", cmd_grid, grid_arguments,
            api.GridSpec, (photos_flag("the ratios in the sidecar"), ray_flags("read --photos"), recipe_flags,
                           importance_flags, json_flag, model_flags)),
    Command("render", "pictures for any objective, e.g. \"block8:12 - 0.5*block8:40\"", cmd_render,
            render_arguments, api.RenderSpec, (recipe_flags, importance_flags, json_flag, model_flag)),
    Command("stats", "fidelity: picture activation over the best real photo's (and with a photo folder, the trust "
            "measures)", cmd_stats, stats_arguments, api.StatsSpec,
            (photos_flag("the statistics and, with a folder, the trust measures"),
             ray_flags("read --photos for the statistics"), recipe_flags, json_flag, model_flags),
            brief="how a unit's picture compares with its best real photos"),
]
