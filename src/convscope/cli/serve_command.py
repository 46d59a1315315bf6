"""The serve command: the explorer, a local web app over one workspace folder. The options are
resolved and checked here; the explorer then runs as this same process (``python -m
convscope.app``, which the command line does not import), so Ctrl-C reaches it directly."""
from __future__ import annotations

import argparse
import json
import os
import sys

from convscope import api
from convscope.cli.common import cli_recipe
from convscope.cli.flags import Command, model_argument, model_flags, recipe_flags
from convscope.cli.spec_flags import spec_from_args


def cmd_serve(args: argparse.Namespace) -> None:
    api.require_serve()
    spec = spec_from_args(api.ServeSpec, args, recipe=cli_recipe(args))
    api.check_photo_folder(args.photos)
    api.check_output_dir(spec.folder)
    if spec.export is not None:
        api.check_output_dir(spec.export)
    else:
        api.check_port(spec.host, spec.port)
    options = {"size": args.size, "steps": args.steps, "views": args.views, "view_size": args.view_size,
               "crop_scale": args.crop_scale, "crop_scale_end": args.crop_scale_end, "noise": args.noise,
               "spectrum": args.spectrum}
    settings = {"model": {"name": args.model_name, "weights": args.weights, "device": args.device,
                          "kernel_orientation": args.kernel_orientation, "precision": args.precision,
                          "preprocess": args.preprocess},
                "photos": args.photos, "recipe": {"name": args.recipe, "options": options},
                "spec": {name: value for name, value in spec.values().items() if name != "recipe"}}
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, "-m", "convscope.app", json.dumps(settings)])


def serve_arguments(p: argparse.ArgumentParser) -> None:
    model_argument(p)
    p.add_argument("--photos", required=True, metavar="DIR", help="folder of photos, read with its subfolders and "
                   "streamed: the units' top photos, statistics, trust and labels come from it")


COMMANDS = [
    Command("serve", "the explorer: a local web app over one workspace folder, where a layer's units render when it "
            "is first opened (kept as an atlas of the workspace), each unit has its page, and objectives render live",
            cmd_serve, serve_arguments, api.ServeSpec, (recipe_flags, model_flags),
            brief="the explorer: a local web app to walk a network's units, rendered on demand"),
]
