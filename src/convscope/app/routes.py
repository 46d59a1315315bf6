"""The explorer's web app (Starlette): its pages, its JSON API and the workspace's files.

- ``GET /``, ``/layer/{name}``, ``/unit/{layer}/{unit}``, ``/render``: the pages (see ``views``).
- ``GET /api/layers``, ``/api/layers/{name}/units``: the layers, and a layer's rendered units,
  its first pictures, and while it renders its batch's pictures as they stand.
- ``GET /api/units/{layer}/{unit}``: a unit's atlas record, circuit and concepts, as far as computed;
  ``.../exemplars.png``: its dataset examples, once its layer's exemplars pass is done.
- ``POST /api/photos`` with a photo as the body (``Content-Type: image/...``, at most 20 MB):
  keeps it in the workspace; answers ``{"photo": name}``.
- ``GET /api/search?q=TEXT``: the rendered units and learned concepts found by their name,
  label, classes.
- ``POST /api/jobs`` with JSON ``{"kind": "layer", "layer": NAME}``, ``{"kind": "render",
  "objective": TEXT, "steps": N[, "recipe": a built-in recipe's name]}``, ``{"kind": "circuit",
  "layer": NAME, "unit": N}``, ``{"kind": "maps", "layer": NAME, "unit": N}``,
  ``{"kind": "concepts", "layer": NAME}``, ``{"kind": "exemplars", "layer": NAME}`` or
  ``{"kind": "explain", "photo": NAME, "layer": NAME}``: the job that computes it (the same
  job for the same work); bad input gets status 400 and ``{"error": one line}``. JSON only, so
  a page of another site cannot post a form here.
- ``GET /api/jobs/{id}``, ``/api/jobs/{id}/events``: a job's state, and its progress as
  server-sent events until it ends.
- ``/atlas/...``, ``/renders/...``, ``/thumbnails/...``, ``/previews/...``, ``/circuits/...``,
  ``/maps/...``, ``/concepts/...``, ``/explained/...``: the workspace's files (read only).
"""
from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from convscope import api
from convscope.app import jobs, unit_view, views
from convscope.app.access import LOCAL_HOSTS, TokenRequired
from convscope.app.worker import Job, Worker
from convscope.app.workspace import (
    CIRCUITS,
    CONCEPTS,
    EXPLAINED,
    MAPS,
    MAX_PHOTO_BYTES,
    PREVIEWS,
    THUMBNAILS,
    Workspace,
)
from convscope.errors import ConvscopeError

EVENT_SECONDS = 0.25  # how often a job's events check its progress


def bad(message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=400)


class WorkspaceFiles(StaticFiles):
    """A folder of the workspace, read only: 404 for anything not in it, and for everything
    before the folder exists (a job makes it when it first writes there)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not Path(str(self.directory)).is_dir():
            await PlainTextResponse("not found\n", status_code=404)(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(workspace: Workspace, worker: Worker, hosts: list[str] | None = None,
               token: str | None = None) -> Starlette:
    """The app over ``workspace``, its heavy work run by ``worker``; it answers requests for
    ``hosts`` only (default: this machine's names), so a page of another site cannot reach it
    through a name that points here; with ``token``, requests for any name that carry the token
    (see ``access``)."""
    model = workspace.model

    def layer_of(name: str) -> str | None:
        return name if name in workspace.layer_names else None

    async def home(_request: Request) -> Response:
        return HTMLResponse(views.home(model.name, workspace.photos, workspace.layers()))

    async def layer_page(request: Request) -> Response:
        name = layer_of(request.path_params["name"])
        if name is None:
            return HTMLResponse(views.not_found(f"no layer {request.path_params['name']!r}"), status_code=404)
        return HTMLResponse(views.layer_grid(model.name, name, model.layer(name).channels, workspace.rendered(name),
                                             api.safe_name(name), workspace.concepts(name),
                                             model.layer(name).spatial, workspace.steps()))

    async def unit_page(request: Request) -> Response:
        found = jobs.unit_of(workspace, request.path_params["layer"], request.path_params["unit"])
        if isinstance(found, str):
            return HTMLResponse(views.not_found(found), status_code=404)
        layer, unit = found
        parts = unit_view.UnitParts(layer, unit, api.safe_name(layer), workspace.unit(layer, unit),
                                workspace.circuit(layer, unit), workspace.unit_concepts(layer, unit),
                                model.layer(layer).spatial, workspace.recipe.steps,
                                not model.earlier_main_layers(layer), workspace.exemplars(layer),
                                workspace.unit_maps(layer, unit))
        return HTMLResponse(unit_view.unit_page(model.name, parts))

    async def unit_state(request: Request) -> Response:
        found = jobs.unit_of(workspace, request.path_params["layer"], request.path_params["unit"])
        if isinstance(found, str):
            return JSONResponse({"error": found}, status_code=404)
        layer, unit = found
        return JSONResponse({"layer": layer, "unit": unit, "atlas": workspace.unit(layer, unit),
                             "circuit": workspace.circuit(layer, unit), "concepts": workspace.unit_concepts(layer, unit),
                             "exemplars": workspace.exemplars(layer)})

    async def exemplar_sheet(request: Request) -> Response:
        found = jobs.unit_of(workspace, request.path_params["layer"], request.path_params["unit"])
        if isinstance(found, str):
            return JSONResponse({"error": found}, status_code=404)
        path = await asyncio.to_thread(workspace.exemplar_sheet, *found)
        if path is None:
            return JSONResponse({"error": f"no exemplars pass of {found[0]} yet"}, status_code=404)
        return FileResponse(path, media_type="image/png")

    async def post_photo(request: Request) -> Response:
        kind = request.headers.get("content-type", "")
        if not kind.startswith("image/"):
            return bad(f"not a photo ({kind or 'no type'}): drop a JPEG, PNG, WebP, GIF, BMP or TIFF file")
        data = bytearray()
        async for chunk in request.stream():
            data += chunk
            if len(data) > MAX_PHOTO_BYTES:
                return bad(f"the photo is larger than {MAX_PHOTO_BYTES // 2**20} MB: drop a smaller one")
        try:
            name = await asyncio.to_thread(workspace.keep_photo, bytes(data), kind)
        except ConvscopeError as error:
            return bad(str(error))
        return JSONResponse({"photo": name})

    async def render_page(_request: Request) -> Response:
        return HTMLResponse(views.render_page(model.name, workspace.renders(), workspace.recipe.name,
                                              list(api.RECIPES)))

    async def layers(_request: Request) -> Response:
        return JSONResponse(workspace.layers())

    async def layer_units(request: Request) -> Response:
        name = layer_of(request.path_params["name"])
        if name is None:
            return JSONResponse({"error": f"no layer {request.path_params['name']!r}"}, status_code=404)
        return JSONResponse({"layer": name, "rendered": workspace.rendered(name), "thumbnails": workspace.thumbnails(name),
                             "previews": workspace.previews(name)})

    async def search(request: Request) -> Response:
        return JSONResponse(workspace.search(request.query_params.get("q", "")))

    async def post_job(request: Request) -> Response:
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return bad("send the job as JSON (Content-Type: application/json)")
        try:
            body = json.loads(await request.body())
        except ValueError:
            return bad("the body is not JSON")
        if not isinstance(body, dict):
            return bad("send a JSON object")
        try:
            job = jobs.submit(workspace, worker, body)
        except ConvscopeError as error:
            return bad(str(error))
        return JSONResponse(job.to_json())

    async def job_state(request: Request) -> Response:
        job = worker.jobs.get(request.path_params["id"])
        return JSONResponse(job.to_json()) if job else JSONResponse({"error": "no such job"}, status_code=404)

    async def job_events(request: Request) -> Response:
        job = worker.jobs.get(request.path_params["id"])
        if job is None:
            return JSONResponse({"error": "no such job"}, status_code=404)
        return StreamingResponse(_events(job, request), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store"})

    async def no_icon(_request: Request) -> Response:
        return Response(status_code=204)

    routes = [Route("/", home), Route("/favicon.ico", no_icon), Route("/layer/{name:path}", layer_page),
              Route("/unit/{layer:path}/{unit}", unit_page), Route("/render", render_page),
              Route("/api/units/{layer:path}/{unit}/exemplars.png", exemplar_sheet),
              Route("/api/units/{layer:path}/{unit}", unit_state), Route("/api/photos", post_photo, methods=["POST"]),
              Route("/api/layers", layers), Route("/api/search", search), Route("/api/layers/{name:path}/units", layer_units),
              Route("/api/jobs", post_job, methods=["POST"]), Route("/api/jobs/{id:path}/events", job_events),
              Route("/api/jobs/{id:path}", job_state),
              Mount("/atlas", WorkspaceFiles(directory=workspace.atlas_dir, check_dir=False)),
              Mount("/renders", WorkspaceFiles(directory=workspace.renders_dir, check_dir=False)),
              Mount("/circuits", WorkspaceFiles(directory=workspace.root / CIRCUITS, check_dir=False)),
              Mount("/maps", WorkspaceFiles(directory=workspace.root / MAPS, check_dir=False)),
              Mount("/thumbnails", WorkspaceFiles(directory=workspace.root / THUMBNAILS, check_dir=False)),
              Mount("/previews", WorkspaceFiles(directory=workspace.root / PREVIEWS, check_dir=False)),
              Mount("/concepts", WorkspaceFiles(directory=workspace.root / CONCEPTS, check_dir=False)),
              Mount("/explained", WorkspaceFiles(directory=workspace.root / EXPLAINED, check_dir=False))]
    if token is not None:
        return Starlette(routes=routes, middleware=[Middleware(TokenRequired, token=token)])
    allowed = hosts or [*LOCAL_HOSTS, "testserver"]
    return Starlette(routes=routes, middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=allowed)])


async def _events(job: Job, request: Request) -> AsyncIterator[str]:
    """The job's state as server-sent events, each time it changes, until it ends or the page goes."""
    last = None
    while True:
        state = job.to_json()
        if state != last:
            yield f"data: {json.dumps(state)}\n\n"
            last = state
        if job.finished or await request.is_disconnected():
            return
        await asyncio.sleep(EVENT_SECONDS)
