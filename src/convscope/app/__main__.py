"""``python -m convscope.app SETTINGS``: the explorer's process, started by ``convscope serve``
with its settings resolved (one JSON argument: the network and how to load it, the photos, the
recipe and its options, the other options of ``ServeSpec``). It loads the network, then serves the workspace until Ctrl-C, or with
``export`` writes the workspace's pages and stops. Bad input gets one line and exit status 2."""
from __future__ import annotations

import json
import sys

from convscope import api
from convscope.app.server import build, open_workspace
from convscope.app.workspace import Workspace
from convscope.errors import ConvscopeError


def main(argv: list[str]) -> int:
    """Runs the explorer with the settings ``argv[0]`` holds; returns the exit status."""
    settings = json.loads(argv[0])
    try:
        options = {name: tuple(value) if isinstance(value, list) else value
                   for name, value in settings["recipe"]["options"].items()}
        spec = api.ServeSpec.of(None, **settings["spec"], recipe=api.recipe_from(settings["recipe"]["name"], **options))
        api.check_photo_folder(settings["photos"])  # before the network loads
        workspace = open_workspace(api.load(**settings["model"]), settings["photos"], spec)
        if spec.export is not None:
            out = workspace.export(spec.export)
            sys.stdout.write(f"the workspace {spec.folder} written as pages to {out.parent}; open {out}\n")
            return 0
        serve(workspace, spec)
        return 0
    except ConvscopeError as error:
        sys.stderr.write(f"convscope: error: {error.worded(lambda name: '--' + name.replace('_', '-'))}\n")
        return 2


def serve(workspace: Workspace, spec: api.ServeSpec) -> None:
    """Serves the workspace until Ctrl-C; a job running then stops where it is (the atlas goes on
    from its last finished unit at the next start)."""
    built = build(workspace, spec)
    sys.stderr.write(f"convscope explorer: {built.url} (the workspace is {spec.folder}; Ctrl-C stops it)\n")
    sys.stderr.flush()
    try:
        built.run()
    except KeyboardInterrupt:  # the server stopped on Ctrl-C and passes it on: that is a clean stop
        pass
    finally:
        built.worker.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
