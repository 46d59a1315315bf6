"""What a front end (the command line, the explorer) needs around the commands and that no part
below offers: a recipe with its spectrum file checked, outputs checked before any work, and the
files beside a result written after it. Front ends import these from ``convscope.api`` and
nothing below it."""
from __future__ import annotations

import importlib.util
import json
import socket
from pathlib import Path

from convscope.data.photo_stream import photo_files
from convscope.engine.recipes import Recipe, get_recipe
from convscope.engine.spectrum import load_spectrum
from convscope.errors import ImageInputError, MissingExtraError, OutOfRangeError
from convscope.io.files import check_alpha_format, check_output_folder, image_format
from convscope.io.picture import Picture, labelled, row, stitch
from convscope.jobs.atlas.builder import default_layers
from convscope.jobs.job_folder import KEY_FILE
from convscope.models.base import VisionModel


def recipe_from(name: str | Recipe, **options: object) -> Recipe:
    """A recipe by name with options on top (see ``get_recipe``); a ``spectrum`` file is read now,
    so a file that is not one is refused before any work.

    Raises:
        UnknownNameError: no recipe of that name, or an option it does not take.
        ImageInputError: a spectrum file that is missing or not a spectrum.
    """
    recipe = get_recipe(name, **options)
    if options.get("spectrum"):
        load_spectrum(str(options["spectrum"]))
    return recipe


def check_photo_folder(folder: str | Path) -> None:
    """Refuses a missing or empty photo folder now, before a model loads.

    Raises:
        ImageInputError: the folder is missing or holds no photo.
    """
    photo_files(folder)


def check_output_image(path: str | Path, alpha: bool = False) -> Path:
    """Checks an output image's path before any work: an image suffix, a folder that can be
    made, and (``alpha``) a format with an alpha channel.

    Raises:
        ImageInputError: a folder, an unknown suffix, a folder that cannot be written, or JPEG with alpha.
    """
    out = Path(path)
    if out.is_dir():
        raise ImageInputError(f"{out} is a folder: give a file name such as {out / 'picture.png'}")
    image_format(out)
    check_output_folder(out)
    if alpha:
        check_alpha_format(out)
    return out


def check_output_dir(path: str | Path) -> Path:
    """Checks an output folder before any work.

    Raises:
        ImageInputError: a file of that name, or a folder that cannot be written.
    """
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise ImageInputError(f"{out} is a file, not a folder: give a folder name")
    check_output_folder(out / "index.html")
    return out


def steps_strip(snapshots: dict[int, list[Picture]], final: list[Picture], steps: int) -> Picture:
    """The pictures at each kept step and at the end, side by side with their step.

    Args:
        snapshots: the pictures per kept step.
        final: the pictures at the end.
        steps: the last step.
    Returns:
        The strip.
    """
    frames = {**snapshots, steps: final}
    return row([labelled(stitch(pics), f"step {step}") for step, pics in sorted(frames.items())])


def save_with_importance(picture: Picture, out: Path, alpha: bool, importance: bool) -> dict[str, str]:
    """Writes ``picture`` (RGBA with ``alpha``: its importance map as alpha) and, with
    ``importance``, the map beside it as NAME.importance.png.

    Returns:
        ``{"importance_map": path}`` when the map was written, else nothing.
    """
    picture.save(out, alpha=alpha)
    if not importance:
        return {}
    return {"importance_map": str(picture.importance_picture().save(out.with_name(f"{out.stem}.importance.png")))}


def atlas_layers(model: VisionModel, recipe: Recipe | str) -> list[str]:
    """The layers an atlas of ``model`` holds by default when rendered with ``recipe``."""
    return default_layers(model, get_recipe(recipe).view_hw(model.input_size))


def require_serve() -> None:
    """Raises a one-line error that says how to install the explorer's web framework, when it is missing."""
    for module in ("starlette", "uvicorn"):
        if importlib.util.find_spec(module) is None:
            raise MissingExtraError(f"the explorer runs on Starlette and uvicorn, and {module} is not installed: "
                                    "pip install 'convscope[serve]'")


def check_port(host: str, port: int) -> None:
    """Refuses a port that cannot be listened on at ``host`` (in use, or not allowed).

    Raises:
        OutOfRangeError: the port is taken or refused.
    """
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            raise OutOfRangeError(f"cannot listen on {host}:{port} ({error.strerror or error}): give another {{port}}, "
                                  "or stop what uses it", options=["port"]) from error


def check_folder_network(folder: str | Path, model_name: str) -> None:
    """Refuses a job folder (an atlas, exemplars, concepts...) that holds another network's work,
    before any work.

    Raises:
        OutOfRangeError: the folder's settings name another network.
    """
    key = Path(folder) / KEY_FILE
    try:
        stored = json.loads(key.read_text()).get("model") if key.is_file() else None
    except (OSError, ValueError, AttributeError):
        stored = None
    if isinstance(stored, str) and stored != model_name:
        raise OutOfRangeError(f"{Path(folder)} holds the work of {stored}, not of {model_name}: give {{folder}} "
                              "another folder, or serve that network", options=["folder"])
