"""The labels command: words for a layer's units, each with its AUC and corrected p-value or
"no label", and search over them."""
from __future__ import annotations

import argparse
from pathlib import Path

from convscope import api
from convscope.cli.common import emit, load_model, parse_units, plural, progress_bar
from convscope.cli.flags import LAYER_HELP, Command, json_flag, model_argument, model_flags
from convscope.cli.spec_flags import spec_from_args


def labels_table(labels: api.Labels, units: list) -> list[str]:
    """One line per unit: its name, label, AUC, p-value, and the best candidate when it has no label."""
    lines = [f"{'unit':>14s} {'AUC':>6s} {'p':>7s}  label"]
    for u in units:
        best = "" if u.labelled else f" (best: {u.best})"
        lines.append(f"{labels.layer + ':' + str(u.unit):>14s} {u.auc:6.3f} {u.p_value:7.4f}  {u.label}{best}")
    return lines


def cmd_labels(args: argparse.Namespace) -> None:
    out = api.check_output_dir(args.out) if args.out else None
    units = tuple(parse_units(args.units)) if args.units else ()
    spec = spec_from_args(api.LabelsJobSpec, args, units=units)
    api.check_photo_folder(args.photos)  # a missing or empty folder is refused before the model loads
    args.model = args.model_name
    model = load_model(args)
    with progress_bar(f"labels {args.layer}: photos", "photo") as photos, \
            progress_bar(f"labels {args.layer}: test", "shuffle") as shuffles:
        bars = {"photos": photos, "shuffles": shuffles}
        result = api.labels(model, args.layer, photos=args.photos, out=out, spec=spec,
                            progress=lambda stage, done, total: bars[stage](done, total))
    shown = result.search(args.search) if args.search is not None else result.units
    data = result.to_json()
    if args.search is not None:
        data["search"] = {"query": args.search, "units": [u.to_json() for u in shown]}
    if out is not None:
        data.update(out=str(out), page=str(Path(out) / "index.html"), labels_json=str(Path(out) / "labels.json"))
    source = api.LABEL_SOURCES[result.source]
    lines = [f"{result.model} {result.layer}: classes from {source}; {plural(result.classes, 'class', 'classes')} "
             f"over {plural(result.photos, 'photo')}, {result.tried} labels tried per unit",
             *labels_table(result, shown),
             f"{sum(u.labelled for u in result.units)} of {plural(len(result.units), 'unit')} have a label"
             + (f"; {plural(len(shown), 'unit')} match {args.search!r}" if args.search is not None else ""),
             api.LABEL_RULE]
    if out is not None:
        lines.append(f"written to {out}; open {Path(out) / 'index.html'}")
    emit(args, data, "\n".join(lines))


def labels_arguments(p: argparse.ArgumentParser) -> None:
    model_argument(p)
    p.add_argument("layer", metavar="LAYER", help=LAYER_HELP)
    p.add_argument("--units", help="units to label, e.g. 0-15 (default: every unit of the layer)")
    p.add_argument("--photos", required=True, metavar="DIR", help="folder of photos, read with its subfolders and "
                   "streamed: one subfolder per class (ImageNet's synset names, such as n02085620, name WordNet's "
                   "groups) or synsets starting the file names give the classes, else the network's top class")
    p.add_argument("--search", metavar="TEXT", help="show only the units whose label, its classes or name hold TEXT")
    p.add_argument("--out", metavar="DIR", help="also write labels.json and a page with a search box (index.html) "
                   "into this folder")


COMMANDS = [
    Command("labels", "words for a layer's units: the WordNet group of the photos' classes that best separates the "
            "photos by each unit's activation (AUC), with a permutation p-value corrected for every label tried, or "
            "'no label' where none holds; --search finds units by word",
            cmd_labels, labels_arguments, api.LabelsJobSpec, (json_flag, model_flags),
            brief="words for units, scored by AUC and a corrected p-value, or 'no label'; search"),
]
