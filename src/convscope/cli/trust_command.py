"""The trust command, and the table of measures that stats shares with it."""
from __future__ import annotations

import argparse

from convscope import api
from convscope.cli.common import cli_recipe, emit, load_model, parse_units, plural, progress_bar, warn_skipped
from convscope.cli.flags import LAYER_HELP, Command, json_flag, model_argument, model_flags, recipe_flags
from convscope.cli.spec_flags import spec_from_args


def number(value: float | None, width: int, digits: int = 2) -> str:
    """``value`` right-aligned in ``width`` characters, or a dash when unknown."""
    return f"{value:{width}.{digits}f}" if value is not None else " " * (width - 1) + "-"


def measures_table(rows: list[dict], after: str | None) -> list[str]:
    """The lines of the units' table: activation, best photo, ratio, and the trust measures, their
    controls and the verdict when the rows have them."""
    trusted = bool(rows) and "path_score" in rows[0]
    head = f"{'unit':>5s} {'picture':>9s} {'best photo':>10s} {'ratio':>7s}" + (f" {'after ' + after:>14s}" if after else "")
    if trusted:
        head += (f" {'path':>6s} {'noise':>6s} {'2AFC pictures':>13s} {'photos':>6s} {'noise':>6s} {'others':>6s}"
                 f" {'verdict':>10s}")
    lines = [head + "  photo"]
    for r in rows:
        line = f"{r['unit']:5d} {r['activation']:9.3f} {r['photo_max']:10.3f} {number(r['ratio'], 7)}"
        line += f" {number(r['ratio_after'], 14)}" if after else ""
        if trusted:
            controls = r["trust"]["controls"]
            line += (f" {number(r['path_score'], 6)} {number(controls['noise']['path_score'], 6)}"
                     f" {number(r['choice_pictures'], 13)} {number(r['choice_photos'], 6)}"
                     f" {number(controls['noise']['choice']['score'], 6)}"
                     f" {number(controls['other_units']['median_choice'], 6)} {r['verdict']:>10s}")
        lines.append(line + f"  {r['best_photo']}")
    return lines


def cmd_trust(args: argparse.Namespace) -> None:
    out = api.check_output_dir(args.out)
    export = str(api.check_output_dir(args.export_trials)) if args.export_trials else None
    recipe = cli_recipe(args)
    units = tuple(parse_units(args.units)) if args.units else ()
    spec = spec_from_args(api.TrustSpec, args, recipe=recipe, units=units, export=export)
    api.check_photo_folder(args.photos)  # a missing or empty folder is refused before the model loads
    args.model = args.model_name
    model = load_model(args)
    with progress_bar(f"trust {args.layer}") as bar:
        report = api.trust(model, args.layer, photos=args.photos, out=out, progress=bar, spec=spec)
    record = report.record
    warn_skipped(record.skipped)
    data = {**record.to_json(), "out": str(report.out), "trust_json": str(report.out / "trust.json"),
            "sheet": str(report.out / "sheet.png"),
            "trials_page": str(report.trials_page) if report.trials_page is not None else None}
    settings = record.trust
    lines = [f"{model.name} {record.layer}, recipe {recipe.name}, {plural(record.photos, 'photo')}, judge "
             f"{settings['judge']} ({settings['judge_layer']}), {plural(settings['trials'], 'trial')} per unit and kind",
             *measures_table(record.units, record.after),
             f"medians: ratio {number(record.median_ratio, 0)}, path {number(record.median_path_score, 0)} (noise "
             f"{number(record.median_path_noise, 0)}), 2AFC pictures {number(record.median_choice_pictures, 0)}, "
             f"photos {number(record.median_choice_photos, 0)}, noise {number(record.median_choice_noise, 0)}, "
             f"other units {number(record.median_choice_other_units, 0)}, random photos "
             f"{number(record.median_choice_random, 0)}",
             "verdicts: " + ", ".join(f"{count} {verdict}" for verdict, count in record.verdicts.items())
             + f" (false-positive rate {settings['false_positive']:g})",
             f"written to {report.out}" + (f"; trials page {report.trials_page}" if report.trials_page else "")]
    emit(args, data, "\n".join(lines))


def trust_arguments(p: argparse.ArgumentParser) -> None:
    model_argument(p)
    p.add_argument("layer", metavar="LAYER", help=LAYER_HELP + " (not the first: the path needs earlier layers)")
    p.add_argument("--units", help="units to measure, e.g. 0-15 (default: the first 8)")
    p.add_argument("--photos", required=True, metavar="DIR", help="folder of photos, read with its subfolders and "
                   "streamed, so it can be of any size")
    p.add_argument("--out", default=api.TRUST_OUT, help="output folder: trust.json, each unit's "
                   "pictures and path plot, sheet.png")
    p.add_argument("--export-trials", metavar="DIR", help="also write the trials as a page people can take "
                   "(index.html) and its answer key (answer-key.json)")


COMMANDS = [
    Command("trust", "measured evidence that units' pictures show what the units do on real photos: the ratio, the "
            "path score and a machine two-alternative choice, the same for two controls (the recipe's starting noise, "
            "other units' pictures) on the same trials, and a verdict at a stated false-positive rate",
            cmd_trust, trust_arguments, api.TrustSpec,
            (recipe_flags, json_flag, model_flags),
            brief="measured evidence that units' pictures show what they do on real photos"),
]
