"""Commands on photos and classes: dream, classviz, saliency."""
from __future__ import annotations

import argparse

from convscope import models
from convscope.cli.common import (
    cli_recipe,
    emit,
    fail,
    load_model,
    output_folder,
    output_path,
    parse_floats,
    positive,
    progress_bar,
    read_photo,
    resolve_device,
)
from convscope.io.files import write_json


def cmd_dream(args: argparse.Namespace) -> None:
    from convscope.methods.dream import dream

    out = output_path(args.output)
    if args.objective is not None and (args.layers is not None or args.layer_weights is not None):
        fail("give --objective or --layers (with --layer-weights), not both: an objective such as "
             "\"block8 + 1.5*block10\" weights layers itself")
    photo, source = read_photo(args.photo)
    model = load_model(args)
    layers = [l for l in args.layers.split(",") if l] if args.layers is not None else None
    with progress_bar("dream", unit="step") as bar:
        result = dream(model, photo, args.objective, layers=layers,
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
    from convscope.methods.class_models import class_model
    from convscope.models.classes import resolve_class

    out = output_path(args.output)
    positive(args.steps, "--steps")
    recipe = cli_recipe(args, shape=False)
    model = load_model(args)
    target = resolve_class(model, args.target)
    checks = [check_model(spec, args.device) for spec in args.check or []]
    with progress_bar(f"class {target}") as bar:
        result = class_model(model, target, recipe=recipe, score=args.score, until=args.until,
                             steps=args.steps, size=args.size, seed=args.seed, check=checks, progress=bar)
    result.picture.save(out)
    sidecar = {"output": str(out), **result.sidecar()}
    if result.display is not None:
        sidecar["display"] = str(result.display.save(out.with_name(f"{out.stem}.display{out.suffix}")))
    write_json(f"{out}.json", sidecar)
    lines = [f"{out}: class {target} ({result.name}), {result.steps_run} steps"
             + (f", reached p >= {args.until}" if result.reached else "")]
    for o in result.opinions:
        lines.append(f"  {o.model}: p = {o.probability:.4f}, rank {o.rank}; top: "
                     + ", ".join(f"{t['name']} {t['probability']:.3f}" for t in o.top[:3]))
    emit(args, sidecar, "\n".join(lines))


def check_model(spec: str, device: str) -> models.VisionModel:
    """A --check network: MODEL, or MODEL=WEIGHTS for one that needs a weights file."""
    name, _, weights = spec.partition("=")
    return models.load(name, weights=weights or None, device=resolve_device(device))


def cmd_saliency(args: argparse.Namespace) -> None:
    from convscope.methods.saliency import saliency
    from convscope.models.classes import resolve_class

    out = output_path(args.output)
    positive(args.samples, "--samples")
    photo, source = read_photo(args.photo)
    model = load_model(args)
    target = resolve_class(model, args.target) if args.target is not None else None
    result = saliency(model, photo, target, samples=args.samples, noise=args.noise, seed=args.seed)
    result.picture.save(out)
    data = {"output": str(out), "photo": source, **result.picture.info, "precision": model.effective_precision}
    emit(args, data, f"{out}: saliency of class {result.target} ({result.name}, p = {result.probability:.3f} on the "
                     f"whole photo, {result.classify_probability:.3f} on its centre square as classify sees it)")


def cmd_accentuate(args: argparse.Namespace) -> None:
    from convscope.engine.objective_text import parse_objective
    from convscope.methods.accentuation import accentuate

    out = output_path(args.output)
    positive(args.steps, "--steps")
    objective = parse_objective(args.objective)
    photo, source = read_photo(args.photo)
    model = load_model(args)
    with progress_bar(f"accentuate {objective}") as bar:
        result = accentuate(model, photo, objective, layer=args.layer, strength=args.strength, steps=args.steps,
                            seed=args.seed, progress=bar)
    write_accentuated(result, out, args, source, f"{out}: {result.info['objective']} from "
                      f"{result.info['objective_before']:.3f} to {result.info['objective_after']:.3f}; "
                      f"{result.info['layer']} distance to the photo {result.info['layer_distance']:.3f}")


def cmd_caricature(args: argparse.Namespace) -> None:
    from convscope.methods.accentuation import caricature

    out = output_path(args.output)
    positive(args.steps, "--steps")
    layers = [l for l in args.layers.split(",") if l]
    photo, source = read_photo(args.photo)
    model = load_model(args)
    with progress_bar("caricature") as bar:
        result = caricature(model, photo, layers, steps=args.steps, from_noise=args.from_noise, seed=args.seed,
                            progress=bar)
    similarity = ", ".join(f"{k} {result.info['cosine_before'][k]:.2f} -> {v:.2f}"
                           for k, v in result.info["cosine_after"].items())
    write_accentuated(result, out, args, source, f"{out}: caricature of {', '.join(layers)}, cosine similarity "
                                                 f"with the photo's activations {similarity}")


def write_accentuated(result, out, args: argparse.Namespace, source: str, text: str) -> None:
    """The result, the sheet beside it (NAME.sheet.png) and the sidecar (NAME.json)."""
    result.picture.save(out)
    sheet = result.sheet.save(out.with_name(f"{out.stem}.sheet.png"))
    data = {"output": str(out), "sheet": str(sheet), "photo": source, **result.info}
    write_json(f"{out}.json", data)
    emit(args, data, f"{text}\n{sheet}: photo, result and their difference")


def cmd_explain(args: argparse.Namespace) -> None:
    import sys
    from pathlib import Path

    from convscope.io.photo_reading import load_photo
    from convscope.methods.explain import explain
    from convscope.pages.explanation_page import write_explanation

    if args.concepts is not None:
        from convscope.cli.concept_commands import explain_with_concepts

        positive(args.class_units, "--class-units")
        return explain_with_concepts(args)
    if args.layer is None:
        fail("name the --layer whose units explain the photo, or give --concepts DIR")
    output_folder(args.out)
    for value, name in ((args.per_position, "--per-position"), (args.max_units, "--max-units"),
                        (args.class_units, "--class-units"), (args.steps, "--steps")):
        positive(value, name)
    pixels, notes = load_photo(args.photo)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    model = load_model(args)
    with progress_bar(f"explain {args.layer}") as bar:
        result = explain(model, pixels, args.layer, per_position=args.per_position, max_units=args.max_units,
                         class_units=args.class_units, atlas=args.atlas, recipe=args.recipe, steps=args.steps,
                         seed=args.seed, progress=bar)
    index = write_explanation(args.out, result, model.name, Path(args.photo).name)
    top = result.top_class
    data = {"index": str(index), "layer": result.layer, "top_class": top, "units_pictured": len(result.pictures),
            "class_units": result.class_units}
    emit(args, data, f"{index}: {Path(args.photo).name} at {result.layer}, top class {top['name']} "
                     f"(p = {top['probability']:.3f}); {len(result.pictures)} units pictured")


def cmd_spectrum(args: argparse.Namespace) -> None:
    import shlex
    import sys
    from pathlib import Path

    from convscope.data.photo_stream import photo_files
    from convscope.engine.spectrum import measure_spectrum
    from convscope.errors import ImageInputError
    from convscope.io.builtin_photos import builtin_photos
    from convscope.io.files import check_output_folder
    from convscope.io.photo_reading import readable_photos

    out = Path(args.output)
    if out.suffix.lower() != ".npz" or out.is_dir():
        fail(f"{out}: give the spectrum a file name ending in .npz, such as spectrum.npz")
    check_output_folder(out)
    if not args.photos and not args.builtin:
        fail("name photos or folders of photos to measure, or --builtin for the built-in photos")
    files: list[Path] = []
    for name in args.photos:
        path = Path(name)
        if path.is_dir():
            files += photo_files(path)
        elif path.exists():
            files.append(path)
        else:
            fail(f"photo not found: {path}")
    skipped: list[str] = []
    photos = [*files, *([p.pixels for p in builtin_photos()] if args.builtin else [])]

    with progress_bar("spectrum", unit="photo") as bar:
        try:
            spectrum = measure_spectrum(readable_photos(photos, skipped), resolution=args.resolution, crops=args.crops,
                                        seed=args.seed, count=len(photos), progress=bar)
        except ImageInputError:
            if skipped:
                fail(f"no photo could be read ({len(skipped)} files); the first: {skipped[0]}")
            raise
    spectrum.settings["command"] = shlex.join(["convscope", *sys.argv[1:]])
    spectrum.save(out)
    for note in skipped:
        print(f"warning: skipped {note}", file=sys.stderr)
    data = {"output": str(out), "skipped": skipped, **spectrum.settings}
    emit(args, data, f"{out}: the mean amplitude spectrum of {data['photos']} photos ({args.crops} crops each, "
                     f"{args.resolution} px)" + (f"; {len(skipped)} files skipped" if skipped else ""))
