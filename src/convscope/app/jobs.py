"""The jobs a page may ask for, each checked before it is queued: the request's JSON in, the
worker's job out (the same job for the same work). Bad input raises one line, which the page
shows beside its field."""
from __future__ import annotations

from typing import Callable

from convscope import api
from convscope.app.worker import WAITED, WATCHED, Job, Worker
from convscope.app.workspace import DROPPED_NAME, PHOTOS, Workspace
from convscope.errors import ConvscopeError

MAX_STEPS = 4096


def submit(workspace: Workspace, worker: Worker, body: dict) -> Job:
    """The job ``body`` asks for (its ``kind``: layer (with or without a unit), render, circuit,
    maps, concepts, exemplars or explain).

    Raises:
        ConvscopeError: an unknown kind, layer or unit, an objective that does not parse or reads
            an unknown layer, steps out of range, an unknown recipe, a photo not dropped first.
    """
    kind = body.get("kind")
    make = KINDS.get(kind) if isinstance(kind, str) else None
    if make is None:
        raise ConvscopeError(f"unknown job kind {kind!r}: give {', '.join(repr(k) for k in KINDS)}")
    return make(workspace, worker, body)


def layer_of(workspace: Workspace, name: object, positions: bool = False, what: str = "") -> str:
    """The layer ``name`` of the workspace (``positions``: one with positions, for ``what``).

    Raises:
        ConvscopeError: no such layer, or one without positions.
    """
    layer = str(name or "")
    if layer not in workspace.layer_names:
        raise ConvscopeError(f"no layer {layer!r}: the layers are {', '.join(workspace.layer_names)}")
    if positions and not workspace.model.layer(layer).spatial:
        spatial = [n for n in workspace.layer_names if workspace.model.layer(n).spatial]
        raise ConvscopeError(f"{layer!r} {what}: choose a layer with positions, such as {', '.join(spatial[-3:])}")
    return layer


def unit_of(workspace: Workspace, layer: str, unit: object) -> tuple[str, int] | str:
    """(layer, unit) when both exist, else why not, in one line."""
    if layer not in workspace.layer_names:
        return f"no layer {layer!r}: the layers are {', '.join(workspace.layer_names)}"
    units, text = workspace.model.layer(layer).channels, str(unit)
    if not text.isdigit() or int(text) >= units:
        return f"no unit {text!r} in {layer}: its units are 0 to {units - 1}"
    return layer, int(text)


def layer_job(workspace: Workspace, worker: Worker, body: dict) -> Job:
    """A layer's atlas, its first pictures first; with ``unit``, only the atlas's batch that holds
    it, ahead of the queued jobs (its page waits for it)."""
    layer = layer_of(workspace, body.get("layer"))
    if "unit" not in body:
        return worker.submit(f"layer:{layer}", "layer", f"render {layer}",
                             lambda report: workspace.render_layer(layer, report))
    found = unit_of(workspace, layer, body["unit"])
    if isinstance(found, str):
        raise ConvscopeError(found)
    unit = found[1]
    return worker.submit(f"batch:{layer}:{unit}", "layer", f"render the batch of {layer}:{unit}",
                         lambda report: workspace.render_batch_of(layer, unit, report), priority=WAITED)


def render_job(workspace: Workspace, worker: Worker, body: dict) -> Job:
    """A live render, before every other job: a person watches it."""
    text, steps = str(body.get("objective", "")).strip(), body.get("steps", 128)
    if not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
        raise ConvscopeError(f"steps must be a whole number from 1 to {MAX_STEPS}, got {steps!r}")
    objective = api.parse_objective(text)  # a bad objective is refused here, not in the worker
    objective.validate(workspace.model, workspace.model.input_size)
    own = workspace.recipe.name
    recipe = str(body.get("recipe") or own)
    if recipe not in {own, *api.RECIPES}:
        raise ConvscopeError(f"unknown recipe {recipe!r}: choose {own} (the workspace's) or one of "
                             f"{', '.join(api.RECIPES)}")
    chosen = None if recipe == own else recipe
    return worker.submit(f"render:{objective}:{steps}" + (f":{recipe}" if chosen else ""), "render",
                         f"render {objective}", lambda report: workspace.render_objective(text, steps, report, chosen),
                         priority=WATCHED)


def circuit_job(workspace: Workspace, worker: Worker, body: dict) -> Job:
    """A unit's circuit, ahead of the queued jobs (its page waits for it)."""
    found = unit_of(workspace, str(body.get("layer", "")), body.get("unit", ""))
    if isinstance(found, str):
        raise ConvscopeError(found)
    layer, unit = found
    if not workspace.model.earlier_main_layers(layer):
        raise ConvscopeError(f"{layer} is the network's first layer: no earlier layer builds its units")
    return worker.submit(f"circuit:{layer}:{unit}", "circuit", f"the circuit of {layer}:{unit}",
                         lambda report: workspace.compute_circuit(layer, unit, report), priority=WAITED)


def maps_job(workspace: Workspace, worker: Worker, body: dict) -> Job:
    """A unit's top photos with its map over each, ahead of the queued jobs (its page waits for
    them); drawn already, they are kept."""
    found = unit_of(workspace, str(body.get("layer", "")), body.get("unit", ""))
    if isinstance(found, str):
        raise ConvscopeError(found)
    layer, unit = found
    layer_of(workspace, layer, positions=True, what="has no positions to map")
    drawn = workspace.unit_maps(layer, unit)
    return worker.submit(f"maps:{layer}:{unit}", "maps", f"the maps of {layer}:{unit}",
                         (lambda _report: drawn) if drawn else
                         (lambda report: workspace.compute_maps(layer, unit, report)), priority=WAITED)


def concepts_job(workspace: Workspace, worker: Worker, body: dict) -> Job:
    """A layer's concepts; learned already (here, or by the concepts command), they are kept."""
    layer = layer_of(workspace, body.get("layer"), positions=True, what="has no concepts to learn")
    learned = workspace.concepts(layer)
    return worker.submit(f"concepts:{layer}", "concepts", f"the concepts of {layer}",
                         (lambda _report: learned) if learned else
                         (lambda report: workspace.compute_concepts(layer, report)))


def exemplars_job(workspace: Workspace, worker: Worker, body: dict) -> Job:
    """A layer's exemplars pass; done already, it is kept."""
    layer = layer_of(workspace, body.get("layer"))
    return worker.submit(f"exemplars:{layer}", "exemplars", f"the exemplars pass of {layer}",
                         (lambda _report: {"layer": layer}) if workspace.exemplars(layer) else
                         (lambda report: workspace.compute_exemplars(layer, report)))


def explain_job(workspace: Workspace, worker: Worker, body: dict) -> Job:
    """A dropped photo's explanation, ahead of the queued jobs (the page waits for it)."""
    photo = str(body.get("photo", ""))
    if not DROPPED_NAME.match(photo) or not (workspace.root / PHOTOS / photo).is_file():
        raise ConvscopeError(f"no dropped photo {photo!r}: drop the photo on the page first")
    layer = layer_of(workspace, body.get("layer"), positions=True, what="cannot explain a photo")
    return worker.submit(f"explain:{photo}:{layer}", "explain", f"explain the photo at {layer}",
                         lambda report: workspace.explain(photo, layer, report), priority=WAITED)


KINDS: dict[str, Callable[[Workspace, Worker, dict], Job]] = {
    "layer": layer_job, "render": render_job, "circuit": circuit_job, "maps": maps_job, "concepts": concepts_job,
    "exemplars": exemplars_job, "explain": explain_job}
