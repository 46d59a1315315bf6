"""The explorer's workspace folder: ``atlas/`` (an atlas of the network, as ``convscope atlas``
writes it, rendered a layer at a time when the layer is first looked at) and ``renders/`` (the
pictures of objectives rendered live and kept, each named by its settings, so two explorers on
one folder write the same file). A restart goes on from what the folder holds."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import torch

from convscope import api
from convscope.app.worker import Report

ATLAS = "atlas"
RENDERS = "renders"
PREVIEWS = 8  # pictures shown while a render runs


class Workspace:
    """One network's workspace: its layers, what of them is rendered, and the work that fills it.

    Args:
        root: the folder.
        model: the network.
        photos: the photo folder the units' statistics, trust and labels come from.
        spec: the explorer's options.
    """

    def __init__(self, root: str | Path, model: api.VisionModel, photos: str, spec: api.ServeSpec) -> None:
        self.root, self.model, self.photos, self.spec = Path(root), model, photos, spec
        self.atlas_dir, self.renders_dir = self.root / ATLAS, self.root / RENDERS
        self.layer_names = api.atlas_layers(model, spec.recipe)

    def layers(self) -> list[dict]:
        """Each layer the atlas holds: its name, kind, units and how many are rendered."""
        return [{"name": name, "kind": self.model.layer(name).kind, "units": self.model.layer(name).channels,
                 "rendered": len(self.rendered(name))} for name in self.layer_names]

    def rendered(self, layer: str) -> list[int]:
        """The units of ``layer`` whose pictures and pages are in the atlas."""
        folder = self.atlas_dir / "units" / api.safe_name(layer)
        return sorted(int(p.stem) for p in folder.glob("[0-9][0-9][0-9][0-9].json")) if folder.is_dir() else []

    def search(self, text: str, most: int = 50) -> list[dict]:
        """The atlas's units found by ``text`` (see ``api.matches``: the start of words of a unit's
        name, its label, the label's classes and the names above it, its class, the classes it
        drives), those with a label first; each with its layer, unit, label and page."""
        path = self.atlas_dir / "atlas.json"
        if not text.strip() or not path.is_file():
            return []
        found = []
        for layer in json.loads(path.read_text())["layers"]:
            for unit in layer["units"]:
                words = unit.get("words") or {}
                labelled = bool(words.get("labelled"))
                texts = [f"{unit['layer']}:{unit['channel']}", *([words["label"], *words["classes"],
                                                                  *words.get("broader", [])] if labelled else []),
                         *([unit["class_name"]] if unit.get("class_name") else []),
                         *(d["name"] for d in unit.get("drives") or [])]
                if api.matches(text, api.words_of(texts)):
                    found.append({"layer": unit["layer"], "unit": unit["channel"],
                                  "label": words["label"] if labelled else None, "auc": words.get("auc"),
                                  "page": f"/{ATLAS}/units/{api.safe_name(unit['layer'])}/{unit['channel']:04d}.html"})
        return sorted(found, key=lambda f: (f["label"] is None, -(f["auc"] or 0)))[:most]

    def render_layer(self, layer: str, report: Report) -> dict:
        """Renders and measures every unit of ``layer`` not yet in the atlas (batch by batch, so
        the first units appear first); returns how many were rendered."""
        units = self.model.layer(layer).channels
        summary = api.atlas(self.model, self.atlas_dir, render_layers=(layer,), photos=self.photos,
                            recipe=self.spec.recipe, batch=self.spec.batch, seed=self.spec.seed,
                            workers=self.spec.workers, wait=True,
                            progress=lambda _done, _total, _busy: report.progress(len(self.rendered(layer)), units))
        return {"layer": layer, "rendered": summary.rendered}

    def render_objective(self, text: str, steps: int, report: Report) -> dict:
        """Renders an objective in the text form, showing the picture as it stands about every
        eighth of the steps with the objective on that step's views (``report.preview``), and
        keeps it in ``renders/``; returns its name, file and activation."""
        recipe = api.recipe_from(self.spec.recipe, steps=steps)
        settings = {"objective": text, "steps": steps, "recipe": recipe.as_dict(), "seed": self.spec.seed}
        name = "render-" + hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
        self.renders_dir.mkdir(parents=True, exist_ok=True)
        preview = self.renders_dir / f"{name}.preview.png"
        seen = [0]

        def watch(images: torch.Tensor, values: torch.Tensor) -> None:
            seen[0] += 1
            if seen[0] % max(1, steps // PREVIEWS) == 0:
                api.Picture.from_tensor(images[0].detach().clamp(0, 1).cpu()).save(preview)
                report.preview(f"{RENDERS}/{preview.name}?step={seen[0]}", float(values[0]))

        result = api.pictures(self.model, text, recipe=recipe, seed=self.spec.seed, progress=report.progress,
                              watch=watch)
        result.pictures[0].save(self.renders_dir / f"{name}.png")  # the same settings give the same file
        preview.unlink(missing_ok=True)
        record = {"name": name, "objective": text, "steps": steps, "recipe": recipe.name,
                  "activation": float(result.final[0]), "file": f"{RENDERS}/{name}.png"}
        api.write_json(self.renders_dir / f"{name}.json", record)
        return record

    def renders(self) -> list[dict]:
        """The renders kept, newest first."""
        kept = sorted(self.renders_dir.glob("*.json"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        return [json.loads(p.read_text()) for p in kept]

    def export(self, out: str | Path) -> Path:
        """Writes what the workspace holds as pages that need no server: the atlas's site and the
        renders; returns the index page."""
        out = Path(out)
        if self.atlas_dir.is_dir():
            shutil.copytree(self.atlas_dir, out / ATLAS, dirs_exist_ok=True)
        if self.renders_dir.is_dir():
            shutil.copytree(self.renders_dir, out / RENDERS, dirs_exist_ok=True)
        return out
