"""The flags several commands share (the model and its device, the recipe, photos, Ray, JSON
output), and ``Command``: what the parser needs to know of one command."""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Callable

from convscope import api
from convscope.cli.common import parse_size

MODEL_HELP = ("a model name from `convscope models` (efficientnet-lite0, vgg16, ...), timm:NAME for a timm "
              "model, path/model.onnx, or path/to/file.py:factory for your own network")
LAYER_HELP = "a layer name from `convscope layers MODEL` (block8, conv3_3, head, logits, ...)"
RECIPE_HELP = ("render recipe: " + ", ".join(sorted(api.RECIPE_SETTINGS)) + ", or path/to/file.py:make_recipe for your own "
               "(a function that returns a convscope.Recipe)")
JSON_HELP = "print the results as JSON on stdout instead of text"

FlagGroup = Callable[[argparse.ArgumentParser], None]


@dataclass(frozen=True)
class Command:
    """One command of the parser.

    Attributes:
        name: the command's name.
        help: its help line.
        run: the function that carries it out, given the parsed options.
        arguments: adds its positional arguments and the flags written by hand.
        spec: the spec whose options become its flags (None: a command without one).
        groups: the shared flag groups it takes, in the order ``--help`` lists them.
        brief: its line in the overview, where ``help`` is long.
    """

    name: str
    help: str
    run: Callable[[argparse.Namespace], None]
    arguments: FlagGroup
    spec: type[api.Spec] | None = None
    groups: tuple[FlagGroup, ...] = field(default_factory=tuple)
    brief: str | None = None


def recipe_name(text: str) -> str:
    """A built-in recipe's name or a user's ``path/to/file.py:make_recipe``, as argparse's type."""
    if text in api.RECIPE_SETTINGS or api.is_user_spec(text):
        return text
    raise argparse.ArgumentTypeError(f"invalid choice: {text!r} (choose from {', '.join(sorted(api.RECIPE_SETTINGS))}, "
                                     "or path/to/file.py:make_recipe)")


def recipe_values(value: Callable[[api.RecipeSettings, api.RecipeUses], object]) -> str:
    """'keras2016 20, lucid 512, maco 128': a value of each built-in recipe (from its settings and
    what was measured of it), for a help text."""
    return ", ".join(f"{name} {value(settings, api.RECIPE_USES[name])}"
                     for name, settings in api.RECIPE_SETTINGS.items())


def model_argument(p: argparse.ArgumentParser) -> None:
    """The MODEL positional argument."""
    p.add_argument("model_name", metavar="MODEL", help=MODEL_HELP)


def model_flag(p: argparse.ArgumentParser) -> None:
    """--model, for the commands whose model is optional, and the device flags."""
    p.add_argument("--model", default=api.DEFAULT_MODEL, help=MODEL_HELP)
    model_flags(p)


def json_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help=JSON_HELP)


def device_flags(p: argparse.ArgumentParser) -> None:
    """--device, --precision and --compile."""
    p.add_argument("--device", default="auto", help=f"{', '.join(api.DEVICE_CHOICES)} or cuda:N "
                   "(auto: CUDA when there is one)")
    p.add_argument("--precision", default="auto", choices=list(api.PRECISIONS),
                   help="arithmetic of the network: auto (TF32 on CUDA, float32 on the CPU), float32, "
                        "tf32 (CUDA) or bfloat16 autocast (fast on GPUs and AMX CPUs)")
    p.add_argument("--compile", default="auto", choices=list(api.COMPILE_MODES),
                   help="compile the render steps with torch.compile: auto (on CUDA for runs of 128 steps or "
                        "more; never on the CPU, where it measured slower), on, or off")


def model_flags(p: argparse.ArgumentParser) -> None:
    """The device flags and how the model's weights are read."""
    device_flags(p)
    p.add_argument("--weights", metavar="FILE",
                   help="weights file: .safetensors (preferred: it cannot run code), torch .pth, or for vgg16/vgg19 "
                        "a Keras .h5")
    p.add_argument("--kernel-orientation", default="auto", choices=["auto", "as-stored", "flipped"],
                   help="for Keras files: whether conv kernels are stored flipped (auto: detect)")
    p.add_argument("--preprocess", metavar="PRESET",
                   help="for ONNX files: imagenet (default), caffe-bgr, tf ([-1, 1]), none, or "
                        "'mean=0.485,0.456,0.406;std=0.229,0.224,0.225' on RGB in [0, 1]")


def recipe_flags(p: argparse.ArgumentParser) -> None:
    """The recipe with its size, steps and maco settings."""
    p.add_argument("--recipe", default=api.DEFAULT_RECIPE, type=recipe_name, metavar="RECIPE", help=RECIPE_HELP)
    p.add_argument("--size", type=parse_size, metavar="PX|WxH",
                   help="image size: 128, or width x height such as 192x128 (default: the recipe's: "
                        f"{recipe_values(lambda r, _: api.size_text(r.size))})")
    p.add_argument("--steps", type=int,
                   help=f"optimization steps (default: the recipe's: {recipe_values(lambda r, _: r.steps)})")
    view_flags(p)


def view_flags(p: argparse.ArgumentParser) -> None:
    """The maco recipe's settings (a recipe's own values when not given)."""
    maco, maco_uses = api.RECIPE_SETTINGS["maco"], api.RECIPE_USES["maco"]
    p.add_argument("--views", type=int, help=f"maco: random crops of each picture per step (default {maco.views})")
    p.add_argument("--view-size", type=int, metavar="PX", help="maco: side the crops are resized to, 0 for the "
                   f"network's input size (default {maco.view_size})")
    p.add_argument("--crop-scale", type=float,
                   help=f"maco: a crop's side over the picture's, 0 to 1 (default {maco.crop_scale})")
    p.add_argument("--crop-scale-end", type=float, help="maco: the crop scale at the last step, reached linearly "
                   f"(default: none, the scale stays; classviz {maco_uses.class_crop_scale_end})")
    p.add_argument("--noise", type=float,
                   help=f"maco: noise std added to each crop, on 0..1 pixels (default {maco.noise})")
    p.add_argument("--spectrum", metavar="FILE", help="maco: amplitude spectrum from `convscope spectrum` "
                   "(default: the one that ships with convscope)")


def photos_flag(what: str) -> FlagGroup:
    """--photos, an optional folder (the built-in photos without it), used for ``what``."""
    def add(p: argparse.ArgumentParser) -> None:
        p.add_argument("--photos", metavar="DIR", help=f"folder of your own photos for {what}, read with its "
                       "subfolders and streamed in batches, so it can be of any size (default: the built-in set)")
    return add


def photo_folder_flags(out_help: str) -> FlagGroup:
    """--photos, a folder the command needs, and --out, its output folder."""
    def add(p: argparse.ArgumentParser) -> None:
        p.add_argument("--photos", required=True, metavar="DIR", help="folder of photos, read with its subfolders "
                       "(ImageNet's class folders) and streamed, so it can be of any size")
        p.add_argument("--out", required=True, help=out_help)
    return add


def ray_flags(what: str = "read the photos") -> FlagGroup:
    """--ray and --gpus-per-task: where ``what`` runs."""
    def add(p: argparse.ArgumentParser) -> None:
        p.add_argument("--ray", metavar="ADDRESS", help=f"{what} as Ray tasks: auto (a local Ray instance) or a "
                       "cluster address such as 10.0.0.5:6379; every node reads the photos at the same path as here")
        p.add_argument("--gpus-per-task", type=float, default=api.GPUS_PER_TASK,
                       help="with --ray: GPUs for each task")
    return add


def importance_flags(p: argparse.ArgumentParser) -> None:
    """--alpha and --importance: the importance map of a rendered picture."""
    p.add_argument("--alpha", action="store_true",
                   help="write the picture as RGBA, its importance map (where the objective looked: the summed "
                        "|gradient| over the steps) as alpha; needs a .png")
    p.add_argument("--importance", action="store_true", help="also write the importance map as NAME.importance.png")
