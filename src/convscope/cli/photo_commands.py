"""Commands on photos and classes: dream, classviz, accentuate, caricature, saliency, explain,
spectrum."""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from convscope import api
from convscope.cli.common import (
    cli_recipe,
    emit,
    fail,
    load_model,
    parse_size,
    progress_bar,
    read_photo,
    warn_skipped,
)
from convscope.cli.concept_commands import explain_with_concepts
from convscope.cli.flags import RECIPE_HELP, Command, json_flag, model_flag, recipe_name, recipe_values, view_flags
from convscope.cli.spec_flags import spec_from_args


def cmd_dream(args: argparse.Namespace) -> None:
    out = api.check_output_image(args.output)
    spec = spec_from_args(api.DreamSpec, args)
    if args.objective is not None and (spec.layers is not None or spec.layer_weights is not None):
        fail("give --objective or --layers (with --layer-weights), not both: an objective such as "
             "\"block8 + 1.5*block10\" weights layers itself")
    photo, source = read_photo(args.photo)
    model = load_model(args)
    with progress_bar("dream", unit="step") as bar:
        result = api.dream(model, photo, args.objective, progress=bar, spec=spec)
    result.picture.save(out)
    data = {"output": str(out), "photo": source, "score_before": result.score_before,
            "score_after": result.score_after, "octaves_used": result.octaves, **result.settings}
    emit(args, data, f"{out}: {data['objective']} from {result.score_before:.4g} to {result.score_after:.4g} "
                     f"({result.octaves} octaves)")


def cmd_classviz(args: argparse.Namespace) -> None:
    out = api.check_output_image(args.output)
    others = tuple(other_model(name, args.device) for name in args.check or [])
    spec = spec_from_args(api.ClassvizSpec, args, recipe=cli_recipe(args, shape=False), steps=args.steps,
                          size=args.size, others=others)
    model = load_model(args)
    with progress_bar(f"class {args.target}") as bar:
        result = api.classviz(model, args.target, progress=bar, spec=spec)
    result.picture.save(out)
    sidecar = {"output": str(out), **result.sidecar()}
    if result.display is not None:
        sidecar["display"] = str(result.display.save(out.with_name(f"{out.stem}.display{out.suffix}")))
    api.write_json(f"{out}.json", sidecar)
    lines = [f"{out}: class {result.target} ({result.name}), {result.steps_run} steps"
             + (f", reached p >= {spec.until}" if result.reached else "")]
    for o in result.opinions:
        lines.append(f"  {o.model}: p = {o.probability:.4f}, rank {o.rank}; top: "
                     + ", ".join(f"{t['name']} {t['probability']:.3f}" for t in o.top[:3]))
    emit(args, sidecar, "\n".join(lines))


def other_model(text: str, device: str) -> api.VisionModel:
    """A --check network: MODEL, or MODEL=WEIGHTS for one that needs a weights file."""
    name, _, weights = text.partition("=")
    return api.load(name, weights=weights or None, device=device)


def cmd_saliency(args: argparse.Namespace) -> None:
    out = api.check_output_image(args.output)
    spec = spec_from_args(api.SaliencySpec, args)
    photo, source = read_photo(args.photo)
    model = load_model(args)
    result = api.saliency(model, photo, args.target, spec=spec)
    result.picture.save(out)
    data = {"output": str(out), "photo": source, **result.picture.info, "precision": model.effective_precision}
    emit(args, data, f"{out}: saliency of class {result.target} ({result.name}, p = {result.probability:.3f} on the "
                     f"whole photo, {result.classify_probability:.3f} on its centre square as classify sees it)")


def cmd_accentuate(args: argparse.Namespace) -> None:
    out = api.check_output_image(args.output)
    spec = spec_from_args(api.AccentuateSpec, args)
    objective = api.parse_objective(args.objective)
    photo, source = read_photo(args.photo)
    model = load_model(args)
    with progress_bar(f"accentuate {objective}") as bar:
        result = api.accentuate(model, photo, objective, progress=bar, spec=spec)
    write_accentuated(result, out, args, source, f"{out}: {result.info['objective']} from "
                      f"{result.info['objective_before']:.3f} to {result.info['objective_after']:.3f}; "
                      f"{result.info['layer']} distance to the photo {result.info['layer_distance']:.3f}")


def cmd_caricature(args: argparse.Namespace) -> None:
    out = api.check_output_image(args.output)
    spec = spec_from_args(api.CaricatureSpec, args)
    layers = [l for l in args.layers.split(",") if l]
    photo, source = read_photo(args.photo)
    model = load_model(args)
    with progress_bar("caricature") as bar:
        result = api.caricature(model, photo, layers, progress=bar, spec=spec)
    similarity = ", ".join(f"{k} {result.info['cosine_before'][k]:.2f} -> {v:.2f}"
                           for k, v in result.info["cosine_after"].items())
    write_accentuated(result, out, args, source, f"{out}: caricature of {', '.join(layers)}, cosine similarity "
                                                 f"with the photo's activations {similarity}")


def write_accentuated(result, out: Path, args: argparse.Namespace, source: str, text: str) -> None:
    """The result, the sheet beside it (NAME.sheet.png) and the sidecar (NAME.json)."""
    result.picture.save(out)
    sheet = result.sheet.save(out.with_name(f"{out.stem}.sheet.png"))
    data = {"output": str(out), "sheet": str(sheet), "photo": source, **result.info}
    api.write_json(f"{out}.json", data)
    emit(args, data, f"{text}\n{sheet}: photo, result and their difference")


def cmd_explain(args: argparse.Namespace) -> None:
    spec = spec_from_args(api.ExplainSpec, args, recipe=args.recipe)
    if args.concepts is not None:
        return explain_with_concepts(args, spec.class_units)
    if args.layer is None:
        fail("name the --layer whose units explain the photo, or give --concepts DIR")
    api.check_output_dir(args.out)
    pixels, notes = api.load_photo(args.photo)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    model = load_model(args)
    with progress_bar(f"explain {args.layer}") as bar:
        result = api.explain(model, pixels, args.layer, progress=bar, spec=spec)
    index = api.write_explanation(args.out, result, model.name, Path(args.photo).name)
    top = result.top_class
    data = {"index": str(index), "layer": result.layer, "top_class": top, "units_pictured": len(result.pictures),
            "class_units": result.class_units}
    emit(args, data, f"{index}: {Path(args.photo).name} at {result.layer}, top class {top['name']} "
                     f"(p = {top['probability']:.3f}); {len(result.pictures)} units pictured")


def cmd_spectrum(args: argparse.Namespace) -> None:
    out = Path(args.output)
    if out.suffix.lower() != ".npz" or out.is_dir():
        fail(f"{out}: give the spectrum a file name ending in .npz, such as spectrum.npz")
    api.check_output_dir(out.parent)
    if not args.photos and not args.builtin:
        fail("name photos or folders of photos to measure, or --builtin for the built-in photos")
    spec = spec_from_args(api.SpectrumSpec, args)
    photos: list[object] = [*args.photos, *([p.pixels for p in api.builtin_photos()] if args.builtin else [])]
    skipped: list[str] = []
    with progress_bar("spectrum", unit="photo") as bar:
        spectrum = api.spectrum(photos, progress=bar, skipped=skipped, spec=spec)
    spectrum.settings["command"] = shlex.join(["convscope", *sys.argv[1:]])
    spectrum.save(out)
    warn_skipped(skipped)
    data = {"output": str(out), "skipped": skipped, **spectrum.settings}
    emit(args, data, f"{out}: the mean amplitude spectrum of {data['photos']} photos ({spec.crops} crops each, "
                     f"{spec.resolution} px)" + (f"; {len(skipped)} files skipped" if skipped else ""))


def photo_argument(required: bool) -> str:
    return "PNG or JPEG" if required else "PNG or JPEG (default: a built-in photo)"


def dream_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("photo", nargs="?", metavar="PHOTO", help=photo_argument(False))
    p.add_argument("-o", "--output", required=True, help="output .jpg or .png (the photo's size)")
    p.add_argument("--objective", help="any objective text instead of --layers, e.g. block8:12 or logits:18")


def classviz_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", metavar="CLASS", help="class index (65) or name (\"sea snake\")")
    p.add_argument("-o", "--output", default="class.png", help="output .png: the image the network was sure of "
                   "(with a .json sidecar; keras2016 also writes the article's display as NAME.display.png)")
    p.add_argument("--recipe", default=api.default_of(api.ClassvizSpec, "recipe"), type=recipe_name, metavar="RECIPE",
                   help=RECIPE_HELP)
    p.add_argument("--steps", type=int, help="step budget (default: "
                   + recipe_values(lambda r, uses: uses.class_steps or r.steps) + ")")
    p.add_argument("--size", type=parse_size, metavar="PX|WxH", help="image size (default: the model's input size; "
                   f"maco: the recipe's, {api.size_text(api.RECIPE_SETTINGS['maco'].size)})")
    view_flags(p)
    p.add_argument("--check", action="append", metavar="MODEL[=WEIGHTS]",
                   help="a second network to ask, e.g. efficientnet-lite1 or vgg16=vgg16.pth (repeatable)")


def accentuate_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("photo", metavar="PHOTO", help=photo_argument(True))
    p.add_argument("objective", metavar="OBJECTIVE", help="what to raise: block8:12, logits:18, any objective text")
    p.add_argument("-o", "--output", required=True, help="output .png or .jpg (with NAME.sheet.png and a .json)")


def caricature_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("photo", metavar="PHOTO", help=photo_argument(True))
    p.add_argument("--layers", default="block8", help="layers whose view of the photo to exaggerate")
    p.add_argument("-o", "--output", required=True, help="output .png or .jpg (with NAME.sheet.png and a .json)")


def explain_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("photo", metavar="PHOTO", help=photo_argument(True))
    p.add_argument("--layer", help="a conv layer, e.g. block10 (needed without --concepts)")
    p.add_argument("--concepts", metavar="DIR", help="a concepts folder: show the photo's strongest concepts as maps "
                   "over it instead (concepts.png; --class-units of them)")
    p.add_argument("--out", required=True, help="output folder (index.html, photo, unit pictures, explain.json)")
    p.add_argument("--recipe", default=api.default_of(api.ExplainSpec, "recipe"), type=recipe_name, metavar="RECIPE",
                   help="recipe of pictures rendered now (" + RECIPE_HELP + ")")


def spectrum_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("photos", nargs="*", metavar="PHOTO_OR_DIR", help="photos, or folders of photos")
    p.add_argument("--builtin", action="store_true", help="also use the built-in photos")
    p.add_argument("-o", "--output", required=True, help="output .npz")


def saliency_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("photo", nargs="?", metavar="PHOTO", help=photo_argument(False))
    p.add_argument("--class", dest="target", metavar="CLASS", help="index or name (default: the top class)")
    p.add_argument("-o", "--output", default="saliency.png", help="output heat map over the photo")


COMMANDS = [
    Command("dream", "DeepDream: amplify what layers see in a photo", cmd_dream, dream_arguments, api.DreamSpec,
            (json_flag, model_flag)),
    Command("classviz", "the image the network takes for a class (the article's fooling images)", cmd_classviz,
            classviz_arguments, api.ClassvizSpec, (json_flag, model_flag)),
    Command("accentuate", "feature accentuation: a photo changed to raise an objective, still itself",
            cmd_accentuate, accentuate_arguments, api.AccentuateSpec, (json_flag, model_flag)),
    Command("caricature", "exaggerate what layers see in a photo (Lucid's caricature)", cmd_caricature,
            caricature_arguments, api.CaricatureSpec, (json_flag, model_flag)),
    Command("explain", "a photo explained by a layer's units: what fires at each position, and what drives the top "
            "class (a static page)", cmd_explain, explain_arguments, api.ExplainSpec, (json_flag, model_flag),
            brief="a photo explained by a layer's units or concepts (a static page)"),
    Command("spectrum", "the mean amplitude spectrum of photos, for --recipe maco --spectrum FILE", cmd_spectrum,
            spectrum_arguments, api.SpectrumSpec, (json_flag,)),
    Command("saliency", "where in a photo the class score is most sensitive", cmd_saliency, saliency_arguments,
            api.SaliencySpec, (json_flag, model_flag)),
]
