"""The concepts command, and explain's --concepts."""
from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack

from convscope.cli.common import (
    cli_recipe,
    emit,
    load_model,
    output_folder,
    plural,
    positive,
    progress_bar,
    ray_cluster,
    shards_on,
)
from convscope.cli.spec_flags import spec_from_args

STAGES = {"photos": ("concepts: photos", "photo"), "training": ("concepts: training", "step"),
          "stability": ("concepts: second seed", "step"), "codes": ("concepts: codes", "photo"),
          "classes": ("concepts: classes", "part"), "pictures": ("concepts: pictures", "unit-step")}


def cmd_concepts(args: argparse.Namespace) -> None:
    from convscope.api import ConceptsSpec, concepts
    from convscope.data.photo_stream import photo_files

    output_folder(args.out)
    positive(args.steps, "--steps")
    spec = spec_from_args(ConceptsSpec, args, recipe=cli_recipe(args))
    photo_files(args.photos)  # a missing or empty folder is refused before the model loads
    with ray_cluster(args) as cluster:
        args.model = args.model_name
        model = load_model(args)
        with ExitStack() as stack:
            bars = {}

            def report(stage: str, done: int, total: int) -> None:
                if stage not in bars:
                    label, unit = STAGES[stage]
                    bars[stage] = stack.enter_context(progress_bar(label, unit=unit))
                bars[stage](done, total)

            result = concepts(model, args.layer, args.photos, args.out, runner=shards_on(cluster), progress=report,
                              spec=spec)
    record = result.record
    for entry in record["skipped"]:
        print(f"warning: skipped {entry['reason']}", file=sys.stderr)
    for entry in record["classes"]:
        if not entry["photos"]:
            print(f"warning: no photo is classified as {entry['name']}, so its concepts are not weighed",
                  file=sys.stderr)
    m, base = record["measures"], record["units_baseline"]
    measured = (f"on the {record['held_out_photos']} held-out photos explained variance {m['explained_variance']:.3f} at "
                f"{m['l0']:.1f} active (units, {record['settings']['k']} kept: {base['explained_variance']:.3f}), "
                f"{m['dead']} dead, " if m["explained_variance"] is not None else "no photo held out, so no measures; ")
    data = {"out": str(result.out), "index": str(result.index), "dictionary": str(result.out / "dictionary.safetensors"),
            "concepts_json": str(result.out / "concepts.json"), "measures": m, "units_baseline": base,
            "training_vectors": record["training_vectors"], "photos": record["photos"],
            "held_out_photos": record["held_out_photos"], "skipped": len(record["skipped"]),
            "classes": [{k: v for k, v in c.items() if k in ("index", "name", "photos", "deletion")}
                        for c in record["classes"]]}
    emit(args, data, f"{result.index}: {plural(len(record['concepts']), 'concept')} of {result.layer} "
                     f"({record['settings']['method']}) from {record['training_vectors']} vectors of "
                     f"{plural(record['photos_read'], 'photo')}; {measured}stability {m['stability']:.3f}")


def explain_with_concepts(args: argparse.Namespace) -> None:
    """explain PHOTO --concepts DIR: the photo's strongest concepts as maps over it."""
    from pathlib import Path

    from convscope.io.files import write_json
    from convscope.io.photo_reading import load_photo
    from convscope.jobs.concepts.result import Concepts

    out = output_folder(args.out)
    pixels, notes = load_photo(args.photo)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    model = load_model(args)
    found = Concepts.open(args.concepts, model)
    sheet, rows = found.explain(pixels, count=args.class_units)
    picture = sheet.save(out / "concepts.png")
    data = {"sheet": str(picture), "photo": args.photo, "layer": found.layer, "concepts": rows}
    write_json(out / "concepts.json", data)
    emit(args, data, f"{picture}: {Path(args.photo).name}'s strongest concepts of {found.layer}: "
                     + ", ".join(f"{r['name']} ({r['mean_code']:.2f})" for r in rows))
