"""The argument parser: every command, its options and its handler."""
from __future__ import annotations

import argparse
import inspect
from typing import Callable

from convscope import __version__, models
from convscope.api import trust
from convscope.cli.common import parse_size
from convscope.cli.concept_commands import cmd_concepts
from convscope.cli.info import cmd_classify, cmd_layers, cmd_models
from convscope.cli.layer_commands import cmd_activation_atlas, cmd_atlas, cmd_exemplars, cmd_twins
from convscope.cli.photo_commands import (
    cmd_accentuate,
    cmd_caricature,
    cmd_classviz,
    cmd_dream,
    cmd_explain,
    cmd_saliency,
    cmd_spectrum,
)
from convscope.cli.pictures import cmd_demo, cmd_filter, cmd_grid, cmd_render, cmd_stats
from convscope.cli.spec_flags import add_spec_flags
from convscope.cli.trust_command import cmd_trust
from convscope.engine.recipes import DEFAULT_RECIPE, RECIPES, Recipe, size_text
from convscope.engine.render import render
from convscope.engine.spectrum import measure_spectrum
from convscope.io.user_code import is_user_spec
from convscope.jobs.activation_atlas import ActivationAtlasSpec
from convscope.jobs.atlas.builder import AtlasSpec
from convscope.jobs.cluster.connect import RayCluster
from convscope.jobs.concepts.job import ConceptsSpec
from convscope.jobs.exemplars import ExemplarsSpec
from convscope.jobs.trust import TrustSpec
from convscope.methods.accentuation import accentuate, caricature
from convscope.methods.class_models import class_model
from convscope.methods.classify import classify
from convscope.methods.dream import dream
from convscope.methods.explain import explain
from convscope.methods.fidelity import StatsSpec
from convscope.methods.filters import SELECT_RULES, filter_grid
from convscope.methods.saliency import saliency
from convscope.methods.twins import TWIN_PICTURE_STEPS, add_picture_view, find_twins
from convscope.runtime.compile_settings import COMPILE_MODES
from convscope.runtime.devices import DEVICE_CHOICES
from convscope.runtime.precision import PRECISIONS

MODEL_HELP = ("a model name from `convscope models` (efficientnet-lite0, vgg16, ...), timm:NAME for a timm "
              "model, path/model.onnx, or path/to/file.py:factory for your own network")
LAYER_HELP = "a layer name from `convscope layers MODEL` (block8, conv3_3, head, logits, ...)"
CHANNEL_HELP = "the unit's number in the layer, from 0 (a filter of a conv layer, a class of logits)"
RECIPE_HELP = ("render recipe: " + ", ".join(sorted(RECIPES)) + ", or path/to/file.py:make_recipe for your own "
               "(a function that returns a convscope.Recipe)")
JSON_HELP = "print the results as JSON on stdout instead of text"


def recipe_name(text: str) -> str:
    """A built-in recipe's name or a user's ``path/to/file.py:make_recipe``, as argparse's type."""
    if text in RECIPES or is_user_spec(text):
        return text
    raise argparse.ArgumentTypeError(f"invalid choice: {text!r} (choose from {', '.join(sorted(RECIPES))}, "
                                     "or path/to/file.py:make_recipe)")


def recipe_values(value: Callable[[Recipe], object]) -> str:
    """'keras2016 20, lucid 512, maco 128': a value of each built-in recipe, for a help text."""
    return ", ".join(f"{name} {value(recipe)}" for name, recipe in RECIPES.items())


def library_default(function: Callable[..., object], parameter: str) -> object:
    """The default the library gives ``parameter`` of ``function``: an option's default is
    written once, in the library, and --help shows it."""
    default = inspect.signature(function).parameters[parameter].default
    if default is inspect.Parameter.empty:
        raise TypeError(f"{function.__name__} has no default for {parameter}")
    return default


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, exit status 2, like every other error.
    ``commands`` lists (name, one-line help) of its subcommands, in order."""

    commands: list[tuple[str, str]]

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"convscope: error: {message} (see {self.prog} --help)\n")


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows every option's default, unless it has none."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default in (None, False) or "(default" in (action.help or ""):
            return action.help or ""
        return super()._get_help_string(action) or ""


def add_model_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=models.DEFAULT_MODEL, help=MODEL_HELP)
    add_common(p)


def add_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help=JSON_HELP)


def add_device(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto", help=f"{', '.join(DEVICE_CHOICES)} or cuda:N "
                   "(auto: CUDA when there is one)")
    p.add_argument("--precision", default="auto", choices=list(PRECISIONS),
                   help="arithmetic of the network: auto (TF32 on CUDA, float32 on the CPU), float32, "
                        "tf32 (CUDA) or bfloat16 autocast (fast on GPUs and AMX CPUs)")
    p.add_argument("--compile", default="auto", choices=list(COMPILE_MODES),
                   help="compile the render steps with torch.compile: auto (on CUDA for runs of 128 steps or "
                        "more; never on the CPU, where it measured slower), on, or off")


def add_common(p: argparse.ArgumentParser) -> None:
    add_device(p)
    p.add_argument("--weights", metavar="FILE",
                   help="weights file: .safetensors (preferred: it cannot run code), torch .pth, or for vgg16/vgg19 "
                        "a Keras .h5")
    p.add_argument("--kernel-orientation", default="auto", choices=["auto", "as-stored", "flipped"],
                   help="for Keras files: whether conv kernels are stored flipped (auto: detect)")
    p.add_argument("--preprocess", metavar="PRESET",
                   help="for ONNX files: imagenet (default), caffe-bgr, tf ([-1, 1]), none, or "
                        "'mean=0.485,0.456,0.406;std=0.229,0.224,0.225' on RGB in [0, 1]")


def add_recipe_options(p: argparse.ArgumentParser, seed: bool = True) -> None:
    """The recipe and its options; ``seed``: also --seed (False where the command's spec has it)."""
    p.add_argument("--recipe", default=DEFAULT_RECIPE, type=recipe_name, metavar="RECIPE", help=RECIPE_HELP)
    p.add_argument("--size", type=parse_size, metavar="PX|WxH",
                   help="image size: 128, or width x height such as 192x128 (default: the recipe's: "
                        f"{recipe_values(lambda r: size_text(r.size))})")
    p.add_argument("--steps", type=int,
                   help=f"optimization steps (default: the recipe's: {recipe_values(lambda r: r.steps)})")
    if seed:
        p.add_argument("--seed", type=int, default=0, help="random seed")
    add_view_options(p)


def add_view_options(p: argparse.ArgumentParser) -> None:
    """The maco recipe's settings (a recipe's own values when not given)."""
    maco, maco_uses = RECIPES["maco"].settings, RECIPES["maco"].uses
    p.add_argument("--views", type=int, help=f"maco: random crops of each picture per step (default {maco['views']})")
    p.add_argument("--view-size", type=int, metavar="PX", help="maco: side the crops are resized to, 0 for the "
                   f"network's input size (default {maco['view_size']})")
    p.add_argument("--crop-scale", type=float,
                   help=f"maco: a crop's side over the picture's, 0 to 1 (default {maco['crop_scale']})")
    p.add_argument("--crop-scale-end", type=float, help="maco: the crop scale at the last step, reached linearly "
                   f"(default: none, the scale stays; classviz {maco_uses.class_crop_scale_end})")
    p.add_argument("--noise", type=float,
                   help=f"maco: noise std added to each crop, on 0..1 pixels (default {maco['noise']})")
    p.add_argument("--spectrum", metavar="FILE", help="maco: amplitude spectrum from `convscope spectrum` "
                   "(default: the one that ships with convscope)")


def add_photos(p: argparse.ArgumentParser, what: str = "the statistics") -> None:
    p.add_argument("--photos", metavar="DIR", help=f"folder of your own photos for {what}, read with its subfolders "
                   "and streamed in batches, so it can be of any size (default: the built-in set)")


def add_ray(p: argparse.ArgumentParser, what: str = "read the photos") -> None:
    p.add_argument("--ray", metavar="ADDRESS", help=f"{what} as Ray tasks: auto (a local Ray instance) or a cluster "
                   "address such as 10.0.0.5:6379; every node reads the photos at the same path as here")
    p.add_argument("--gpus-per-task", type=float, default=library_default(RayCluster, "gpus_per_task"),
                   help="with --ray: GPUs for each task")


def add_importance(p: argparse.ArgumentParser) -> None:
    p.add_argument("--alpha", action="store_true",
                   help="write the picture as RGBA, its importance map (where the objective looked: the summed "
                        "|gradient| over the steps) as alpha; needs a .png")
    p.add_argument("--importance", action="store_true", help="also write the importance map as NAME.importance.png")


def add_thresholds(p: argparse.ArgumentParser) -> None:
    p.add_argument("--thresholds", metavar="STEPS",
                   help="also write the pictures at these steps as a strip, e.g. 32,128,512 (beside the "
                        "output, as NAME.steps.png)")


def build_parser() -> Parser:
    parser = Parser(prog="convscope", description="See what a convolutional network has learned.",
                    formatter_class=HelpFormatter)
    parser.add_argument("--version", action="version", version=f"convscope {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)
    add_parser = sub.add_parser

    parser.commands = []

    def command(name: str, help: str, brief: str | None = None) -> argparse.ArgumentParser:
        """A subcommand; ``brief`` is its line in ``overview`` where ``help`` is long."""
        parser.commands.append((name, brief or help))
        p = add_parser(name, formatter_class=HelpFormatter, help=help)
        p.add_argument("--quiet", action="store_true", help="print nothing but errors and warnings: no progress "
                       "bars, no summary")
        return p

    p = command("demo", help="the article's three results in a folder: a filter grid, a DeepDream of the cat "
                "photo and a fooling image of a sea snake",
                brief="the article's three results: a filter grid, a DeepDream, a fooling image")
    p.add_argument("out", nargs="?", default="out", help="output folder (default: out)")
    add_model_option(p)
    add_json(p)
    p.set_defaults(run=cmd_demo)

    p = command("models", help="list the models")
    add_json(p)
    add_device(p)
    p.set_defaults(run=cmd_models)

    p = command("layers", help="list a model's layers")
    p.add_argument("model_name", metavar="MODEL", help=MODEL_HELP)
    add_json(p)
    add_common(p)
    p.set_defaults(run=cmd_layers)

    p = command("classify", help="top classes of photos")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("--top", type=int, default=library_default(classify, "top"), help="classes to show per photo")
    add_json(p)
    add_model_option(p)
    p.set_defaults(run=cmd_classify)

    p = command("filter", help="the picture one filter (channel) responds to most")
    p.add_argument("model_name", metavar="MODEL", help=MODEL_HELP)
    p.add_argument("layer", metavar="LAYER", help=LAYER_HELP)
    p.add_argument("channel", metavar="CHANNEL", help=CHANNEL_HELP)
    p.add_argument("-o", "--output", required=True, help="output .png or .jpg (for the first convolution its "
                   "kernel is written beside it as NAME.kernel.png)")
    add_recipe_options(p)
    add_thresholds(p)
    add_importance(p)
    add_json(p)
    add_common(p)
    p.set_defaults(run=cmd_filter)

    p = command("grid", help="a sheet of a layer's strongest filters (the article's 8x8 grids)")
    p.add_argument("model_name", metavar="MODEL", help=MODEL_HELP)
    p.add_argument("layer", metavar="LAYER", nargs="?", help=LAYER_HELP)
    p.add_argument("--layers", help="several layers, comma-separated: one sheet each")
    p.add_argument("-o", "--output", required=True, help="output .png (with a .json sidecar beside it)")
    p.add_argument("--candidates", type=int, default=library_default(filter_grid, "candidates"),
                   help="first filters to render")
    p.add_argument("--top", type=int, default=library_default(filter_grid, "top"), help="best filters to keep")
    p.add_argument("--batch", type=int, default=library_default(filter_grid, "batch"), help="units optimized together")
    p.add_argument("--select", choices=SELECT_RULES, default=library_default(filter_grid, "select"),
                   help="halving: drop the filters far behind after 1/8, 1/4 and 1/2 of the steps (the kept ones get "
                        "the pictures of a full run; it can miss some of the best: see the documentation); full: "
                        "render every candidate to the end; auto: halving with the lucid recipe at 128 steps or "
                        "more, where it was measured to keep the best, full otherwise")
    add_photos(p, "the ratios in the sidecar")
    add_ray(p, "read --photos")
    add_recipe_options(p)
    add_importance(p)
    add_json(p)
    add_common(p)
    p.set_defaults(run=cmd_grid)

    p = command("render", help="pictures for any objective, e.g. \"block8:12 - 0.5*block8:40\"")
    p.add_argument("objective", metavar="OBJECTIVE",
                   help="what to maximize, e.g. block8:12 or \"block8:12 - 0.5*block8:40\"; one that starts "
                        "with a minus goes after --, or with a space: \" -block8:12\"")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--count", type=int, default=1, help="pictures with different seeds, on one sheet")
    p.add_argument("--batch", type=int, default=library_default(render, "batch"), help="pictures optimized together")
    add_recipe_options(p)
    add_thresholds(p)
    add_importance(p)
    add_json(p)
    add_model_option(p)
    p.set_defaults(run=cmd_render)

    p = command("dream", help="DeepDream: amplify what layers see in a photo")
    p.add_argument("photo", nargs="?", metavar="PHOTO", help="PNG or JPEG (default: a built-in photo)")
    p.add_argument("-o", "--output", required=True, help="output .jpg or .png (the photo's size)")
    p.add_argument("--layers", help="layers to amplify (default block8,block10 for efficientnet-lite)")
    p.add_argument("--layer-weights", help="one weight per layer, e.g. 1,1.5")
    p.add_argument("--objective", help="any objective text instead of --layers, e.g. block8:12 or logits:18")
    p.add_argument("--octaves", type=int, default=library_default(dream, "octaves"),
                   help="image scales, each --octave-scale smaller")
    p.add_argument("--octave-scale", type=float, default=library_default(dream, "octave_scale"),
                   help="size ratio between octaves")
    p.add_argument("--steps", type=int, default=library_default(dream, "steps"), help="steps per octave")
    p.add_argument("--step-size", type=float, default=library_default(dream, "step_size"),
                   help="mean change per pixel and step, on 0..1")
    p.add_argument("--jitter", type=int, default=library_default(dream, "jitter"), help="random roll in px each step")
    p.add_argument("--tile", type=int, default=library_default(dream, "tile"),
                   help="gradient tile size in px (bounded memory)")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    add_json(p)
    add_model_option(p)
    p.set_defaults(run=cmd_dream)

    p = command("classviz", help="the image the network takes for a class (the article's fooling images)")
    p.add_argument("target", metavar="CLASS", help="class index (65) or name (\"sea snake\")")
    p.add_argument("-o", "--output", default="class.png", help="output .png: the image the network was sure of "
                   "(with a .json sidecar; keras2016 also writes the article's display as NAME.display.png)")
    p.add_argument("--recipe", default=library_default(class_model, "recipe"), type=recipe_name, metavar="RECIPE",
                   help=RECIPE_HELP)
    p.add_argument("--score", default=library_default(class_model, "score"), choices=["logit", "prob"],
                   help="maximize the logit or softmax")
    p.add_argument("--until", type=float, help="stop when the class probability reaches this, e.g. 0.999")
    p.add_argument("--steps", type=int, help="step budget (default: "
                   + recipe_values(lambda r: r.uses.class_steps or r.steps) + ")")
    p.add_argument("--size", type=parse_size, metavar="PX|WxH", help="image size (default: the model's input size; "
                   f"maco: the recipe's, {size_text(RECIPES['maco'].size)})")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    add_view_options(p)
    p.add_argument("--check", action="append", metavar="MODEL[=WEIGHTS]",
                   help="a second network to ask, e.g. efficientnet-lite1 or vgg16=vgg16.pth (repeatable)")
    add_json(p)
    add_model_option(p)
    p.set_defaults(run=cmd_classviz)

    p = command("accentuate", help="feature accentuation: a photo changed to raise an objective, still itself")
    p.add_argument("photo", metavar="PHOTO", help="PNG or JPEG")
    p.add_argument("objective", metavar="OBJECTIVE", help="what to raise: block8:12, logits:18, any objective text")
    p.add_argument("-o", "--output", required=True, help="output .png or .jpg (with NAME.sheet.png and a .json)")
    p.add_argument("--layer", help="the earlier layer kept close to the photo's (default: a main layer about "
                   "halfway to the objective's)")
    p.add_argument("--strength", type=float, default=library_default(accentuate, "strength"),
                   help="weight of staying close to the photo (0: none)")
    p.add_argument("--steps", type=int, default=library_default(accentuate, "steps"), help="optimization steps")
    p.add_argument("--seed", type=int, default=library_default(accentuate, "seed"), help="random seed")
    add_json(p)
    add_model_option(p)
    p.set_defaults(run=cmd_accentuate)

    p = command("caricature", help="exaggerate what layers see in a photo (Lucid's caricature)")
    p.add_argument("photo", metavar="PHOTO", help="PNG or JPEG")
    p.add_argument("--layers", default="block8", help="layers whose view of the photo to exaggerate")
    p.add_argument("-o", "--output", required=True, help="output .png or .jpg (with NAME.sheet.png and a .json)")
    p.add_argument("--from-noise", action="store_true", help="start from noise instead of the photo")
    p.add_argument("--steps", type=int, default=library_default(caricature, "steps"), help="optimization steps")
    p.add_argument("--seed", type=int, default=library_default(caricature, "seed"), help="random seed")
    add_json(p)
    add_model_option(p)
    p.set_defaults(run=cmd_caricature)

    p = command("explain", help="a photo explained by a layer's units: what fires at each position, and what "
                "drives the top class (a static page)",
                brief="a photo explained by a layer's units or concepts (a static page)")
    p.add_argument("photo", metavar="PHOTO", help="PNG or JPEG")
    p.add_argument("--layer", help="a conv layer, e.g. block10 (needed without --concepts)")
    p.add_argument("--concepts", metavar="DIR", help="a concepts folder: show the photo's strongest concepts as maps "
                   "over it instead (concepts.png; --class-units of them)")
    p.add_argument("--out", required=True, help="output folder (index.html, photo, unit pictures, explain.json)")
    p.add_argument("--atlas", metavar="DIR", help="an atlas folder to take the unit pictures from (else rendered now)")
    p.add_argument("--per-position", type=int, default=library_default(explain, "per_position"),
                   help="units shown per position")
    p.add_argument("--max-units", type=int, default=library_default(explain, "max_units"),
                   help="without --atlas: the units with the highest peaks that positions choose from")
    p.add_argument("--class-units", type=int, default=library_default(explain, "class_units"),
                   help="units shown for the top class")
    p.add_argument("--recipe", default=library_default(explain, "recipe"), type=recipe_name, metavar="RECIPE",
                   help="recipe of pictures rendered now (" + RECIPE_HELP + ")")
    p.add_argument("--steps", type=int, default=library_default(explain, "steps"), help="steps of pictures rendered now")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    add_json(p)
    add_model_option(p)
    p.set_defaults(run=cmd_explain)

    p = command("spectrum", help="the mean amplitude spectrum of photos, for --recipe maco --spectrum FILE")
    p.add_argument("photos", nargs="*", metavar="PHOTO_OR_DIR", help="photos, or folders of photos")
    p.add_argument("--builtin", action="store_true", help="also use the built-in photos")
    p.add_argument("-o", "--output", required=True, help="output .npz")
    p.add_argument("--resolution", type=int, default=library_default(measure_spectrum, "resolution"),
                   help="side in px the crops are resized to")
    p.add_argument("--crops", type=int, default=library_default(measure_spectrum, "crops"), help="random crops per photo")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    add_json(p)
    p.set_defaults(run=cmd_spectrum)

    p = command("saliency", help="where in a photo the class score is most sensitive")
    p.add_argument("photo", nargs="?", metavar="PHOTO", help="PNG or JPEG (default: a built-in photo)")
    p.add_argument("--class", dest="target", metavar="CLASS", help="index or name (default: the top class)")
    p.add_argument("-o", "--output", default="saliency.png", help="output heat map over the photo")
    p.add_argument("--samples", type=int, default=library_default(saliency, "samples"),
                   help="noisy copies averaged (SmoothGrad); 1 = plain")
    p.add_argument("--noise", type=float, default=library_default(saliency, "noise"),
                   help="noise std on 0..1; 0 = plain Simonyan")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    add_json(p)
    add_model_option(p)
    p.set_defaults(run=cmd_saliency)

    p = command("atlas", help="every unit of a network, rendered and measured, as a static site")
    p.add_argument("model_name", metavar="MODEL", nargs="?", default=models.DEFAULT_MODEL, help=MODEL_HELP)
    p.add_argument("--out", required=True, help="output folder (resumable: run again to continue)")
    add_spec_flags(p, AtlasSpec)
    add_ray(p, "render the batches and read --photos")
    add_recipe_options(p, seed=False)
    add_json(p)
    add_common(p)
    p.set_defaults(run=cmd_atlas)

    p = command("exemplars", help="the photos of a folder (of any size) that excite each unit most: one "
                "streaming, resumable pass",
                brief="the photos of a folder (of any size) that excite each unit most")
    p.add_argument("model_name", metavar="MODEL", help=MODEL_HELP)
    p.add_argument("--photos", required=True, help="folder of photos, read with its subfolders (ImageNet's "
                   "class folders)")
    p.add_argument("--out", required=True, help="output folder: a result file per layer and exemplars.json "
                   "(run the same command again to continue after a stop)")
    add_spec_flags(p, ExemplarsSpec)
    add_ray(p)
    add_json(p)
    add_common(p)
    p.set_defaults(run=cmd_exemplars)

    p = command("activation-atlas", help="the activation atlas of a layer: its activations over a photo "
                "folder laid out with UMAP, a picture per grid cell (needs convscope[atlas])",
                brief="a layer's activations over a photo folder, laid out and rendered")
    p.add_argument("model_name", metavar="MODEL", help=MODEL_HELP)
    p.add_argument("layer", metavar="LAYER", help="a layer with positions (a conv or token layer)")
    p.add_argument("--photos", required=True, help="folder of photos, read with its subfolders")
    p.add_argument("--out", required=True, help="output folder: index.html, atlas.png, activation-atlas.json "
                   "(run the same command again to continue after a stop)")
    add_spec_flags(p, ActivationAtlasSpec)
    add_ray(p, "read the photos of the sampling")
    add_recipe_options(p, seed=False)
    add_json(p)
    add_common(p)
    p.set_defaults(run=cmd_activation_atlas)

    p = command("concepts", help="the concepts of a layer: a dictionary (NMF or a sparse autoencoder) learned from "
                "its activations over a photo folder, each concept rendered, located and weighed (a static page)",
                brief="a layer's concepts learned from a photo folder, rendered, located, weighed")
    p.add_argument("model_name", metavar="MODEL", help=MODEL_HELP)
    p.add_argument("layer", metavar="LAYER", help="a layer with positions (a conv layer, or a token layer: its patch "
                   "tokens; class and register tokens are left out)")
    p.add_argument("--photos", required=True, help="folder of photos, read with its subfolders")
    p.add_argument("--out", required=True, help="output folder: index.html, concepts.json, dictionary.safetensors "
                   "(run the same command again to continue after a stop)")
    add_spec_flags(p, ConceptsSpec)
    add_ray(p, "read the photos of the collection pass")
    add_recipe_options(p, seed=False)
    add_json(p)
    add_common(p)
    p.set_defaults(run=cmd_concepts)

    p = command("twins", help="find units that are rotated copies of each other")
    p.add_argument("model_name", metavar="MODEL", help=MODEL_HELP)
    p.add_argument("layer", metavar="LAYER", nargs="?", help=LAYER_HELP)
    p.add_argument("--layers", help="several layers, comma-separated (with --summary)")
    p.add_argument("--summary", action="store_true", help="only the per-layer summary")
    p.add_argument("-o", "--output", default="twins.png", help="sheet of the strongest pairs (+ .json)")
    p.add_argument("--angles", help="angles to try, in degrees (default 90,180,270)")
    p.add_argument("--angle-step", type=float, help="try every multiple of this angle instead")
    p.add_argument("--threshold", type=float, default=library_default(find_twins, "threshold"),
                   help="lowest twin score reported, a correlation in [-1, 1]")
    p.add_argument("--top", type=int, default=library_default(add_picture_view, "top"), help="pairs on the sheet")
    add_photos(p, "the maps")
    add_ray(p, "read --photos")
    p.add_argument("--atlas", help="an atlas folder to take the unit pictures from")
    p.add_argument("--recipe", default=DEFAULT_RECIPE, type=recipe_name, metavar="RECIPE",
                   help="render recipe of the pictures rendered now (" + RECIPE_HELP + ")")
    p.add_argument("--steps", type=int, default=TWIN_PICTURE_STEPS, help="steps of the pictures rendered now")
    p.add_argument("--size", type=parse_size, metavar="PX|WxH", help="size of the pictures rendered now "
                   "(default: the recipe's)")
    add_view_options(p)
    add_json(p)
    add_common(p)
    p.set_defaults(run=cmd_twins)

    p = command("stats", help="fidelity: picture activation over the best real photo's (and with a photo folder, "
                "the trust measures)",
                brief="how a unit's picture compares with its best real photos")
    p.add_argument("model_name", metavar="MODEL", help=MODEL_HELP)
    p.add_argument("layer", metavar="LAYER", help=LAYER_HELP)
    p.add_argument("--units", help="units to measure, e.g. 0-7 (default: the first 8)")
    add_photos(p, "the statistics and, with a folder, the trust measures")
    add_ray(p, "read --photos for the statistics")
    add_spec_flags(p, StatsSpec)
    add_recipe_options(p, seed=False)
    add_json(p)
    add_common(p)
    p.set_defaults(run=cmd_stats)

    p = command("trust", help="measured evidence that units' pictures show what the units do on real photos: the "
                "ratio, the path score and a machine two-alternative choice",
                brief="measured evidence that units' pictures show what they do on real photos")
    p.add_argument("model_name", metavar="MODEL", help=MODEL_HELP)
    p.add_argument("layer", metavar="LAYER", help=LAYER_HELP + " (not the first: the path needs earlier layers)")
    p.add_argument("--units", help="units to measure, e.g. 0-15 (default: the first 8)")
    p.add_argument("--photos", required=True, metavar="DIR", help="folder of photos, read with its subfolders and "
                   "streamed, so it can be of any size")
    p.add_argument("--out", default=library_default(trust, "out"), help="output folder: trust.json, each unit's "
                   "pictures and path plot, sheet.png")
    p.add_argument("--export-trials", metavar="DIR", help="also write the trials as a page people can take "
                   "(index.html) and its answer key (answer-key.json)")
    add_spec_flags(p, TrustSpec)
    add_recipe_options(p, seed=False)
    add_json(p)
    add_common(p)
    p.set_defaults(run=cmd_trust)
    return parser


def overview(parser: Parser) -> str:
    """What ``convscope`` alone prints: every command with its one line, and where to start."""
    width = max(len(name) for name, _ in parser.commands) + 2
    lines = ["convscope: see what a convolutional network has learned, by optimizing input images.", "",
             "Start with `convscope demo`: the article's three results (a filter grid, a DeepDream, a fooling",
             "image) in out/, in about a minute. Then `convscope COMMAND --help` for a command's options.", "",
             "Commands:"]
    lines += [f"  {name:<{width}}{help}" for name, help in parser.commands]
    return "\n".join(lines)
