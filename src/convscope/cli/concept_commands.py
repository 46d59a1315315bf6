"""The concepts command, and explain's --concepts."""
from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from pathlib import Path

from convscope import api
from convscope.cli.common import cli_recipe, emit, load_model, plural, progress_bar, ray_runner
from convscope.cli.flags import Command, json_flag, model_argument, model_flags, photo_folder_flags, ray_flags, recipe_flags
from convscope.cli.spec_flags import spec_from_args

STAGES = {"photos": ("concepts: photos", "photo"), "training": ("concepts: training", "step"),
          "stability": ("concepts: second seed", "step"), "codes": ("concepts: codes", "photo"),
          "classes": ("concepts: classes", "part"), "pictures": ("concepts: pictures", "unit-step"),
          "labels": ("concepts: labels", "shuffle"), "circuits": ("concepts: circuits", "concept"),
          "trust": ("concepts: trust", "concept")}


def cmd_concepts(args: argparse.Namespace) -> None:
    api.check_output_dir(args.out)
    spec = spec_from_args(api.ConceptsSpec, args, recipe=cli_recipe(args))
    api.check_photo_folder(args.photos)  # a missing or empty folder is refused before the model loads
    with ray_runner(args) as runner:
        args.model = args.model_name
        model = load_model(args)
        with ExitStack() as stack:
            bars = {}

            def report(stage: str, done: int, total: int) -> None:
                if stage not in bars:
                    label, unit = STAGES[stage]
                    bars[stage] = stack.enter_context(progress_bar(label, unit=unit))
                bars[stage](done, total)

            result = api.concepts(model, args.layer, args.photos, args.out, runner=runner, progress=report,
                                  spec=spec)
    record = result.record
    for entry in record.skipped:
        print(f"warning: skipped {entry['reason']}", file=sys.stderr)
    for weighed in record.classes:
        if not weighed.photos:
            print(f"warning: no photo is classified as {weighed.name}, so its concepts are not weighed",
                  file=sys.stderr)
    m, base = record.measures, record.units_baseline
    measured = (f"on the {record.held_out_photos} held-out photos explained variance {m.explained_variance:.3f} at "
                f"{m.l0:.1f} active (units, {record.settings['k']} kept: {base.explained_variance:.3f}), "
                f"{m.dead} dead, " if m.explained_variance is not None and m.l0 is not None
                and base.explained_variance is not None else "no photo held out, so no measures; ")
    data = {"out": str(result.out), "index": str(result.index), "dictionary": str(result.out / "dictionary.safetensors"),
            "concepts_json": str(result.out / "concepts.json"), "measures": m.to_json(),
            "units_baseline": base.to_json(), "training_vectors": record.training_vectors, "photos": record.photos,
            "held_out_photos": record.held_out_photos, "skipped": len(record.skipped),
            "classes": [{"index": c.index, "name": c.name, "photos": c.photos,
                         **({"deletion": c.deletion.to_json()} if c.deletion is not None else {})}
                        for c in record.classes]}
    note = record.baseline_note()
    data["below_units_baseline"] = note is not None
    worded = [c for c in record.concepts if c.words]
    data["labels"] = [{"concept": c.name, **(c.words or {})} for c in worded]
    labelled = [f"{c.name} {c.words['label']}" for c in worded if c.words and c.words["labelled"]]
    named = (f"; labels: {len(labelled)} of {len(worded)} concepts" + (f" ({', '.join(labelled[:4])}"
             f"{', ...' if len(labelled) > 4 else ''})" if labelled else "")) if worded else ""
    emit(args, data, f"{result.index}: {plural(len(record.concepts), 'concept')} of {result.layer} "
                     f"({record.method}) from {record.training_vectors} vectors of "
                     f"{plural(record.photos_read, 'photo')}; {measured}stability {m.stability:.3f}{named}"
                     + (f"\nnote: {note}" if note else ""))


def explain_with_concepts(args: argparse.Namespace, count: int) -> None:
    """explain PHOTO --concepts DIR: the photo's ``count`` strongest concepts as maps over it."""
    out = api.check_output_dir(args.out)
    pixels, notes = api.load_photo(args.photo)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    model = load_model(args)
    found = api.Concepts.open(args.concepts, model)
    sheet, rows = found.explain(pixels, count=count)
    picture = sheet.save(out / "concepts.png")
    data = {"sheet": str(picture), "photo": args.photo, "layer": found.layer, "concepts": rows}
    api.write_json(out / "concepts.json", data)
    emit(args, data, f"{picture}: {Path(args.photo).name}'s strongest concepts of {found.layer}: "
                     + ", ".join(f"{r['name']} ({r['mean_code']:.2f})" for r in rows))


def concepts_arguments(p: argparse.ArgumentParser) -> None:
    model_argument(p)
    p.add_argument("layer", metavar="LAYER", help="a layer with positions (a conv layer, or a token layer: its patch "
                   "tokens; class and register tokens are left out)")


COMMANDS = [
    Command("concepts", "the concepts of a layer: a dictionary (NMF or a sparse autoencoder) learned from its "
            "activations over a photo folder, each concept rendered, located and weighed (a static page)",
            cmd_concepts, concepts_arguments, api.ConceptsSpec,
            (photo_folder_flags("output folder: index.html, concepts.json, dictionary.safetensors (run the same "
                                "command again to continue after a stop)"),
             ray_flags("read the photos of the collection pass"), recipe_flags, json_flag, model_flags),
            brief="a layer's concepts learned from a photo folder, rendered, located, weighed"),
]
