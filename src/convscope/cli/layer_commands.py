"""Commands over whole layers and networks: atlas, exemplars, activation atlas, twins."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from convscope.cli.common import (
    TERMINAL,
    cli_recipe,
    emit,
    fail,
    load_model,
    output_folder,
    output_path,
    parse_floats,
    plural,
    positive,
    progress_bar,
    ray_cluster,
    shards_on,
    warn_skipped,
)
from convscope.cli.spec_flags import spec_from_args
from convscope.io.files import write_json

if TYPE_CHECKING:
    pass


def cmd_atlas(args: argparse.Namespace) -> None:
    from tqdm import tqdm

    from convscope.api import AtlasSpec, atlas
    from convscope.data.photo_stream import photo_files

    output_folder(args.out)
    positive(args.steps, "--steps")
    spec = spec_from_args(AtlasSpec, args, recipe=cli_recipe(args))
    if args.photos is not None:
        photo_files(args.photos)  # a missing or empty folder is refused before the model loads
    args.model = args.model_name
    model = load_model(args)
    with ray_cluster(args) as cluster:
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
            summary = atlas(model, args.out, runner=shards_on(cluster), progress=update, spec=spec)
        finally:
            bar.close()
    warn_skipped(summary.skipped_photos)
    data = {"out": str(summary.root), "index": str(summary.root / "index.html"), "units": summary.units,
            "rendered": summary.rendered, "layers": summary.layers, "skipped_photos": len(summary.skipped_photos)}
    already = summary.units - summary.rendered
    emit(args, data, f"{data['index']}: {plural(summary.units, 'unit')} in {plural(len(summary.layers), 'layer')} "
                     f"({summary.rendered} rendered now" + (f", {already} already there)" if already else ")")
         + (f"; {plural(len(summary.skipped_photos), 'unreadable photo')} skipped" if summary.skipped_photos else ""))


def cmd_exemplars(args: argparse.Namespace) -> None:
    from convscope.api import ExemplarsSpec, exemplars
    from convscope.data.layer_files import layer_file
    from convscope.data.photo_stream import photo_files

    output_folder(args.out)
    spec = spec_from_args(ExemplarsSpec, args)
    photo_files(args.photos)  # a missing or empty folder is refused before the model loads
    with ray_cluster(args) as cluster:
        args.model = args.model_name
        model = load_model(args)
        with progress_bar("exemplars", unit="photo") as bar:
            run = exemplars(model, args.photos, args.out, runner=shards_on(cluster), progress=bar, spec=spec)
    for entry in run.skipped:
        print(f"warning: skipped {entry['reason']}", file=sys.stderr)
    data = {"out": str(args.out), "photos": len(run.files), "skipped": len(run.skipped),
            "layers": {name: {"file": layer_file(Path(args.out), name).name, "units": int(r.peak_values.shape[0]),
                              "best_peak_unit": int(r.max_peak.argmax())} for name, r in run.layers.items()},
            **{k: v for k, v in run.settings.items() if k not in ("layers", "photos")}}
    emit(args, data, f"{args.out}: the top {spec.top} of {plural(len(run.files) - len(run.skipped), 'photo')} for "
                     f"every unit of {plural(len(run.layers), 'layer')}"
                     + (f" ({plural(len(run.skipped), 'file')} skipped)" if run.skipped else ""))


def cmd_activation_atlas(args: argparse.Namespace) -> None:
    from convscope.api import ActivationAtlasSpec, activation_atlas
    from convscope.data.photo_stream import photo_files
    from convscope.jobs.activation_atlas import require_umap

    output_folder(args.out)
    positive(args.steps, "--steps")
    spec = spec_from_args(ActivationAtlasSpec, args, recipe=cli_recipe(args))
    require_umap()
    photo_files(args.photos)  # a missing or empty folder is refused before the model loads
    with ray_cluster(args) as cluster, progress_bar("activation atlas: photos", unit="photo") as photos_bar, \
            progress_bar("activation atlas: cells") as cells_bar:
        args.model = args.model_name
        model = load_model(args)
        summary = activation_atlas(model, args.layer, args.photos, args.out, runner=shards_on(cluster), spec=spec,
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
    from convscope.data.photo_sources import photo_source
    from convscope.methods.twins import add_picture_view, angle_list, check_threshold, find_twins, twin_pictures

    check_threshold(args.threshold)
    positive(args.top, "--top")
    if args.angles is not None and args.angle_step is not None:
        fail("give --angles or --angle-step, not both")
    angles = angle_list(parse_floats(args.angles, "--angles"), args.angle_step)
    layers = [l for l in args.layers.split(",") if l] if args.layers else [args.layer]
    if layers == [None]:
        fail("name a layer (convscope twins MODEL LAYER) or several with --layers a,b,c")
    out = None if args.summary else output_path(args.output)
    recipe = cli_recipe(args)
    photos = photo_source(args.photos)  # a missing or empty folder is refused before the model loads
    args.model = args.model_name
    model = load_model(args)
    for name in layers:
        model.layer(name)
    reports = []
    with ray_cluster(args, needs_photos=True) as cluster:
        photos.runner = shards_on(cluster)
        for name in layers:
            with progress_bar(f"twins {name}: photos, turned", unit="photo") as bar:
                reports.append(find_twins(model, name, photos, angles=angles, threshold=args.threshold, progress=bar))
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
    with progress_bar("pictures of the twins' units") as bar:
        picture_of = twin_pictures(model, report, recipe, args.atlas, args.top, progress=bar)
    add_picture_view(model, report, picture_of, top=args.top)
    data = {**report.summary(), "threshold": report.threshold, "angles": report.angles, **report.settings,
            "pairs_above_threshold": [p.__dict__ for p in report.pairs]}
    if report.sheet is not None and out is not None:
        report.sheet.save(out)
        data["sheet"] = str(out)
    write_json(f"{out}.json", data)
    lines = [f"{report.layer}: {plural(len(report.pairs), 'twin pair')}; {report.with_twin} of {report.units} units "
             f"({report.with_twin / report.units:.0%}) have a rotated twin"]
    lines += [f"  {p.unit} -> {p.twin} at {p.angle:g} deg: score {p.score:.2f} (unrotated {p.unrotated:.2f})"
              + (f", pictures {p.picture_correlation:.2f}" if p.picture_correlation is not None else "")
              for p in report.pairs[:args.top]]
    lines.append(f"{out}.json" + (f", {out}" if report.sheet is not None else " (no pair above the threshold)"))
    emit(args, data, "\n".join(lines))
