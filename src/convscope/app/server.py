"""Starting the explorer: its server in this process's main thread (``convscope serve``, where
Ctrl-C stops it), or in a thread of its own (``convscope.serve`` in a notebook, which gives its
address and goes on until ``stop``)."""
from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from html import escape
from pathlib import Path

import uvicorn

from convscope import api
from convscope.app.access import LOCAL_HOSTS, is_local, new_token
from convscope.app.routes import create_app
from convscope.app.worker import Worker
from convscope.app.workspace import Workspace
from convscope.errors import ConvscopeError

START_SECONDS = 30.0  # how long a server in a thread may take to listen
GRACE_SECONDS = 2  # how long a stop waits for open pages (a page's progress events stay open while its job runs)


def address(host: str, port: int, token: str | None) -> str:
    """The address to open: with the token when the explorer listens beyond this machine."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/" + (f"?token={token}" if token else "")


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` and listening, so that a browser that connects before the
    server's loop runs waits instead of being refused.

    Raises:
        ConvscopeError: the port is taken or not allowed.
    """
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError as error:
        sock.close()
        raise ConvscopeError(f"cannot listen on {host}:{port} ({error.strerror or error}): give another {{port}}, or "
                             "stop what uses it", options=["port"]) from error
    return sock


@dataclass
class Built:
    """A server ready to run: uvicorn's server, the socket it serves, its worker and address."""

    server: uvicorn.Server
    sock: socket.socket
    worker: Worker
    url: str

    def run(self) -> None:
        """Serves until the server is told to stop (or, in the main thread, until Ctrl-C)."""
        self.server.run(sockets=[self.sock])


def build(workspace: Workspace, spec: api.ServeSpec) -> Built:
    """The server over ``workspace``, listening already, with its worker and its address (a token
    is drawn when ``spec.host`` is not this machine's own address).

    Raises:
        ConvscopeError: the port is taken.
    """
    token = None if is_local(spec.host) else new_token()
    sock = listening_socket(spec.host, spec.port)
    worker = Worker()
    hosts = None if token else sorted({spec.host, *LOCAL_HOSTS})
    app = create_app(workspace, worker, hosts, token)
    config = uvicorn.Config(app, host=spec.host, port=spec.port, log_level="warning",
                            timeout_graceful_shutdown=GRACE_SECONDS)
    return Built(uvicorn.Server(config), sock, worker, address(spec.host, spec.port, token))


def open_workspace(model: api.VisionModel, photos: str | Path, spec: api.ServeSpec) -> Workspace:
    """The workspace of ``spec.folder`` for ``model``, checked before any work (the photo folder is
    checked before the network loads).

    Raises:
        ConvscopeError: a folder that cannot be written, or a workspace that holds another
            network's work.
    """
    api.check_output_dir(spec.folder)
    workspace = Workspace(spec.folder, model, str(photos), spec)
    api.check_folder_network(workspace.atlas_dir, model.name)
    return workspace


@dataclass
class Explorer:
    """The explorer running in a thread of this process: its address, and ``stop``."""

    url: str
    workspace: Workspace
    server: uvicorn.Server
    worker: Worker
    thread: threading.Thread

    def stop(self) -> None:
        """Stops the server (a job running then stops where it is)."""
        self.server.should_exit = True
        self.thread.join()
        self.worker.stop()

    def export(self, out: str | Path) -> Path:
        """Writes what the workspace holds as pages that need no server (see ``Workspace.export``)."""
        return self.workspace.export(out)

    def __repr__(self) -> str:
        return f"convscope explorer at {self.url} (the workspace is {self.workspace.root}; .stop() stops it)"

    def _repr_html_(self) -> str:
        return (f"convscope explorer at <a href=\"{escape(self.url)}\" target=\"_blank\">{escape(self.url)}</a> (the "
                f"workspace is {escape(str(self.workspace.root))}; <code>.stop()</code> stops it)")


def start_in_thread(workspace: Workspace, spec: api.ServeSpec) -> Explorer:
    """Serves ``workspace`` from a thread of this process; returns once it serves.

    Raises:
        ConvscopeError: it could not listen (the port was taken meanwhile).
    """
    built = build(workspace, spec)
    thread = threading.Thread(target=built.run, name="convscope-explorer", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_SECONDS
    while not built.server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            built.worker.stop()
            raise ConvscopeError(f"the explorer did not start on {spec.host}:{spec.port}: give {{port}} another "
                                 "port", options=["port"])
        time.sleep(0.05)
    return Explorer(built.url, workspace, built.server, built.worker, thread)
