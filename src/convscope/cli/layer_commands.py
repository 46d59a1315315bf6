"""Commands over whole layers and networks: atlas, exemplars, activation atlas, twins."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from convscope import api
from convscope.cli.common import (
    TERMINAL,
    cli_recipe,
    emit,
    fail,
    load_model,
    parse_size,
    parse_units,
    plural,
    progress_bar,
    ray_runner,
    warn_skipped,
)
from convscope.cli.flags import (
    LAYER_HELP,
    MODEL_HELP,
    RECIPE_HELP,
    Command,
    json_flag,
    model_argument,
    model_flags,
    photo_folder_flags,
    photos_flag,
    ray_flags,
    recipe_flags,
    recipe_name,
    view_flags,
)
from convscope.cli.spec_flags import spec_from_args


def cmd_atlas(args: argparse.Namespace) -> None:
    from tqdm import tqdm

    api.check_output_dir(args.out)
    units = tuple(parse_units(args.units)) if args.units else ()
    spec = spec_from_args(api.AtlasSpec, args, recipe=cli_recipe(args), units=units)
    if args.photos is not None:
        api.check_photo_folder(args.photos)  # a missing or empty folder is refused before the model loads
    args.model = args.model_name
    model = load_model(args)
    with ray_runner(args) as runner, progress_bar("atlas: a layer's photos", unit="photo") as photos_bar:
        bar = tqdm(desc="atlas", unit="unit", file=sys.stderr, dynamic_ncols=True, disable=TERMINAL.bars_off,
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
            summary = api.atlas(model, args.out, runner=runner, progress=update, photos_progress=photos_bar, spec=spec)
        finally:
            bar.close()
    warn_skipped(summary.skipped_photos)
    data = {"out": str(summary.root), "index": str(summary.root / "index.html"), "units": summary.units,
            "present": summary.present, "rendered": summary.rendered, "layers": summary.layers,
            "skipped_photos": len(summary.skipped_photos)}
    already = summary.present - summary.rendered
    left = summary.units - summary.present
    emit(args, data, f"{data['index']}: {plural(summary.units, 'unit')} in {plural(len(summary.layers), 'layer')} "
                     f"({summary.rendered} rendered now" + (f", {already} already there)" if already else ")")
         + (f"; {left} still to render (run again without --units)" if left else "")
         + (f"; {plural(len(summary.skipped_photos), 'unreadable photo')} skipped" if summary.skipped_photos else ""))


def cmd_exemplars(args: argparse.Namespace) -> None:
    api.check_output_dir(args.out)
    spec = spec_from_args(api.ExemplarsSpec, args)
    api.check_photo_folder(args.photos)  # a missing or empty folder is refused before the model loads
    with ray_runner(args) as runner:
        args.model = args.model_name
        model = load_model(args)
        with progress_bar("exemplars", unit="photo") as bar:
            run = api.exemplars(model, args.photos, args.out, runner=runner, progress=bar, spec=spec)
    for entry in run.skipped:
        print(f"warning: skipped {entry['reason']}", file=sys.stderr)
    data = {"out": str(args.out), "photos": len(run.files), "skipped": len(run.skipped),
            "layers": {name: {"file": api.layer_file(Path(args.out), name).name, "units": int(r.peak_values.shape[0]),
                              "best_peak_unit": int(r.max_peak.argmax())} for name, r in run.layers.items()},
            **{k: v for k, v in run.settings.items() if k not in ("layers", "photos")}}
    emit(args, data, f"{args.out}: the top {spec.top} of {plural(len(run.files) - len(run.skipped), 'photo')} for "
                     f"every unit of {plural(len(run.layers), 'layer')}"
                     + (f" ({plural(len(run.skipped), 'file')} skipped)" if run.skipped else ""))


def cmd_activation_atlas(args: argparse.Namespace) -> None:
    api.check_output_dir(args.out)
    spec = spec_from_args(api.ActivationAtlasSpec, args, recipe=cli_recipe(args))
    api.require_umap()
    api.check_photo_folder(args.photos)  # a missing or empty folder is refused before the model loads
    with ray_runner(args) as runner, progress_bar("activation atlas: photos", unit="photo") as photos_bar, \
            progress_bar("activation atlas: cells") as cells_bar:
        args.model = args.model_name
        model = load_model(args)
        summary = api.activation_atlas(model, args.layer, args.photos, args.out, runner=runner, spec=spec,
                                   progress=lambda stage, done, total: (photos_bar if stage == "photos"
                                                                        else cells_bar)(done, total))
    for entry in summary.skipped:
        print(f"warning: skipped {entry['reason']}", file=sys.stderr)
    data = {"out": str(summary.out), "index": str(summary.index), "cells": summary.cells,
            "rendered": summary.rendered, "samples": summary.samples, "photos": summary.photos,
            "skipped": len(summary.skipped)}
    already = summary.cells - summary.rendered
    emit(args, data, f"{summary.index}: {plural(summary.cells, 'cell')} from {summary.samples} activations of "
                     f"{plural(summary.photos - len(summary.skipped), 'photo')} ({summary.rendered} rendered now"
                     + (f", {already} already there)" if already else ")"))


def cmd_twins(args: argparse.Namespace) -> None:
    layers = [l for l in args.layers.split(",") if l] if args.layers else [args.layer]
    if layers == [None]:
        fail("name a layer (convscope twins MODEL LAYER) or several with --layers a,b,c")
    out = None if args.summary else api.check_output_image(args.output)
    spec = spec_from_args(api.TwinsSpec, args, recipe=cli_recipe(args), pictures=not args.summary)
    photos = api.photo_source(args.photos)  # a missing or empty folder is refused before the model loads
    args.model = args.model_name
    model = load_model(args)
    for name in layers:
        model.layer(name)
    reports = []
    with ray_runner(args, needs_photos=True) as runner:
        photos.runner = runner
        for name in layers:
            with progress_bar(f"twins {name}: photos, turned", unit="photo") as bar, \
                    progress_bar("pictures of the twins' units") as pictures_bar:
                reports.append(api.twins(model, name, photos=photos, progress=bar, picture_progress=pictures_bar,
                                         spec=spec))
    warn_skipped(photos.skipped)
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
    data = {**report.summary(), "threshold": report.threshold, "angles": report.angles, **report.settings,
            "pairs_above_threshold": [p.__dict__ for p in report.pairs]}
    if report.sheet is not None and out is not None:
        report.sheet.save(out)
        data["sheet"] = str(out)
    api.write_json(f"{out}.json", data)
    lines = [f"{report.layer}: {plural(len(report.pairs), 'twin pair')}; {report.with_twin} of {report.units} units "
             f"({report.with_twin / report.units:.0%}) have a rotated twin"]
    lines += [f"  {p.unit} -> {p.twin} at {p.angle:g} deg: score {p.score:.2f} (unrotated {p.unrotated:.2f})"
              + (f", pictures {p.picture_correlation:.2f}" if p.picture_correlation is not None else "")
              for p in report.pairs[:spec.top]]
    lines.append(f"{out}.json" + (f", {out}" if report.sheet is not None else " (no pair above the threshold)"))
    emit(args, data, "\n".join(lines))


def atlas_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model_name", metavar="MODEL", nargs="?", default=api.DEFAULT_MODEL, help=MODEL_HELP)
    p.add_argument("--out", required=True, help="output folder (resumable: run again to continue)")
    p.add_argument("--units", help="render now only the batches that hold these units of each layer, e.g. 0-31 (the "
                   "atlas shows what is rendered; a run without --units completes it)")


def activation_atlas_arguments(p: argparse.ArgumentParser) -> None:
    model_argument(p)
    p.add_argument("layer", metavar="LAYER", help="a layer with positions (a conv or token layer)")


def twins_arguments(p: argparse.ArgumentParser) -> None:
    model_argument(p)
    p.add_argument("layer", metavar="LAYER", nargs="?", help=LAYER_HELP)
    p.add_argument("--layers", help="several layers, comma-separated (with --summary)")
    p.add_argument("--summary", action="store_true", help="only the per-layer summary")
    p.add_argument("-o", "--output", default="twins.png", help="sheet of the strongest pairs (+ .json)")


def twins_recipe_flags(p: argparse.ArgumentParser) -> None:
    """The recipe, size and maco settings of the pictures rendered now (the spec has --steps)."""
    p.add_argument("--recipe", default=api.DEFAULT_RECIPE, type=recipe_name, metavar="RECIPE",
                   help="render recipe of the pictures rendered now (" + RECIPE_HELP + ")")
    p.add_argument("--size", type=parse_size, metavar="PX|WxH", help="size of the pictures rendered now "
                   "(default: the recipe's)")
    view_flags(p)


COMMANDS = [
    Command("atlas", "every unit of a network, rendered and measured, as a static site", cmd_atlas, atlas_arguments,
            api.AtlasSpec, (ray_flags("render the batches and read --photos"), recipe_flags, json_flag, model_flags)),
    Command("exemplars", "the photos of a folder (of any size) that excite each unit most: one streaming, resumable "
            "pass", cmd_exemplars, model_argument, api.ExemplarsSpec,
            (photo_folder_flags("output folder: a result file per layer and exemplars.json (run the same command "
                                "again to continue after a stop)"), ray_flags(), json_flag, model_flags),
            brief="the photos of a folder (of any size) that excite each unit most"),
    Command("activation-atlas", "the activation atlas of a layer: its activations over a photo folder laid out with "
            "UMAP, a picture per grid cell (needs convscope[atlas])", cmd_activation_atlas,
            activation_atlas_arguments, api.ActivationAtlasSpec,
            (photo_folder_flags("output folder: index.html, atlas.png, activation-atlas.json (run the same command "
                                "again to continue after a stop)"), ray_flags("read the photos of the sampling"),
             recipe_flags, json_flag, model_flags),
            brief="a layer's activations over a photo folder, laid out and rendered"),
    Command("twins", "find units that are rotated copies of each other", cmd_twins, twins_arguments, api.TwinsSpec,
            (photos_flag("the maps"), ray_flags("read --photos"), twins_recipe_flags, json_flag, model_flags)),
]
