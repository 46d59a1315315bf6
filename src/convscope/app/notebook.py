"""``convscope.serve``: the explorer started from Python (a notebook), in a thread of this
process. The web framework is imported only once it is known to be installed."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from convscope import api
from convscope.errors import ConvscopeError

if TYPE_CHECKING:
    from convscope.app.server import Explorer


def serve(model: api.VisionModel | str, photos: str | Path, *, spec: api.ServeSpec | None = None,
          **options: Any) -> "Explorer":
    """Starts the explorer in a thread of this process, as ``convscope serve`` does in its own.

    Args:
        model: a VisionModel or a model's name.
        photos: the photo folder the units' statistics, trust and labels come from.
        spec: the options as a ``ServeSpec`` (keyword options override its values).
        options: any option of ``ServeSpec``, by name (folder, host, port, recipe, batch, seed,
            thumbnail_steps, workers, concept_epochs).
    Returns:
        The running explorer: its ``url`` (with its token when it listens beyond this machine),
        shown as a link in a notebook, and ``stop()``.
    Raises:
        ConvscopeError: the web framework is missing, the port is taken, the photo folder is
            missing, or the workspace holds another network's work.
    """
    api.require_serve()
    from convscope.app.server import open_workspace, start_in_thread

    spec = api.ServeSpec.of(spec, **options)
    if spec.export is not None:
        raise ConvscopeError("convscope.serve runs the explorer; to write its pages call .export(DIR) on what it "
                             "returns, or run convscope serve --export DIR")
    api.check_port(spec.host, spec.port)
    api.check_photo_folder(photos)
    loaded = api.load(model) if isinstance(model, str) else model
    return start_in_thread(open_workspace(loaded, photos, spec), spec)
