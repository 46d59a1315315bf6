"""The explorer's workspace folder, in the files the commands write:

- ``atlas/``: an atlas of the network, as ``convscope atlas`` writes it, rendered a layer at a
  time when the layer is first looked at;
- ``thumbnails/SETTINGS/LAYER/``: a layer's first pictures, each unit's picture at the first
  ``thumbnail_steps`` steps of its atlas render (written before the atlas renders the layer,
  removed once it has);
- ``previews/LAYER/``: while a layer renders, its batch's pictures as they stand (removed when
  it ends);
- ``renders/``: the pictures of objectives rendered live and kept, each named by its settings,
  so two explorers on one folder write the same file (and, for a minute after each render,
  the last pictures it showed as it went);
- ``circuits/LAYER-UNIT/``: a unit's circuit, as ``convscope circuit`` writes it;
- ``concepts/LAYER/``: a layer's concepts, as ``convscope concepts`` writes them;
- ``exemplars/LAYER/``: a layer's exemplars pass over all the photos, as ``convscope exemplars``
  writes it, and in ``sheets/`` each unit's dataset examples, drawn when first shown;
- ``maps/LAYER-UNIT/``: a unit's top photos with its map over each, drawn when first shown;
- ``photos/`` and ``explained/NAME-LAYER/``: photos dropped on the page (named by their
  content), and their explanations, as ``convscope explain`` writes them.

A restart goes on from what the folder holds."""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

import torch

from convscope import api
from convscope.app import views
from convscope.app.worker import Report
from convscope.errors import ConvscopeError

ATLAS = "atlas"
RENDERS = "renders"
CIRCUITS = "circuits"
CONCEPTS = "concepts"
EXEMPLARS = "exemplars"
MAPS = "maps"
TOP_MAPS = 8  # top photos a unit's page shows with its map
PHOTOS = "photos"
EXPLAINED = "explained"
PHOTOS_STAGE = "the layer's photos"  # the part of a layer's render that reads the photos for its measures
PREVIEW_SECONDS = 0.5  # how often a render shows its picture as it stands
PREVIEW_BATCH_SECONDS = 2.0  # how often a layer's batch shows its pictures as they stand
PREVIEWS = "previews"
THUMBNAILS = "thumbnails"
STALE_PREVIEW_SECONDS = 60.0  # a page may still read a render's last pictures this long after it ends
MAX_PHOTO_BYTES = 20 * 1024 * 1024  # the largest photo a page may drop
PHOTO_SUFFIXES = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "image/gif": ".gif",
                  "image/bmp": ".bmp", "image/tiff": ".tif"}
DROPPED_NAME = re.compile(r"^photo-[0-9a-f]{16}\.(jpg|png|webp|gif|bmp|tif)$")


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
        self.recipe = api.recipe_from(spec.recipe)  # resolved once
        self.layer_names = api.atlas_layers(model, self.recipe)
        self._previews: dict[str, dict[int, list[Path]]] = {}  # layer -> unit -> its last pictures as they stood
        self.thumbnail_recipe = api.recipe_from(self.recipe, steps=spec.thumbnail_steps) \
            if 0 < spec.thumbnail_steps < self.recipe.steps else None  # a layer's first pictures: stopped early
        self.thumbnails_dir = self.root / THUMBNAILS / self._thumbnail_settings()

    def layers(self) -> list[dict]:
        """Each layer the atlas holds: its name, kind, units, whether it has positions, and what of it
        is computed: how many units are rendered, and have a first picture; its concepts (how
        many, or None), and whether its exemplars pass is done."""
        found = []
        for name in self.layer_names:
            info, concepts = self.model.layer(name), self.concepts(name)
            found.append({"name": name, "kind": info.kind, "units": info.channels, "spatial": info.spatial,
                          "rendered": len(self.rendered(name)), "first_pictures": len(self.thumbnails(name)),
                          "concepts": concepts["count"] if concepts else None, "exemplars": self.exemplars(name)})
        return found

    def rendered(self, layer: str) -> list[int]:
        """The units of ``layer`` whose pictures and pages are in the atlas."""
        folder = self.atlas_dir / "units" / api.safe_name(layer)
        return sorted(int(p.stem) for p in folder.glob("[0-9][0-9][0-9][0-9].json")) if folder.is_dir() else []

    def whole(self, layer: str) -> bool:
        """Whether every unit of ``layer`` is in the atlas (its pictures can be taken from it)."""
        return layer in self.layer_names and len(self.rendered(layer)) == self.model.layer(layer).channels

    def search(self, text: str, most: int = 50) -> list[dict]:
        """The atlas's units and the learned concepts found by ``text`` (see ``api.matches``: the
        start of words of a unit's or concept's name, its label, the label's classes and the
        names above it, a unit's class and the classes it drives), those with a label first; each
        with its layer, unit or concept, label and page."""
        if not text.strip():
            return []
        path = self.atlas_dir / "atlas.json"
        found = []
        for layer in json.loads(path.read_text())["layers"] if path.is_file() else []:
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
        found += self._search_concepts(text)
        return sorted(found, key=lambda f: (f["label"] is None, -(f["auc"] or 0)))[:most]

    def _search_concepts(self, text: str) -> list[dict]:
        """The learned concepts found by ``text``: their name (``block8 c012``), label, its
        classes and the names above it."""
        found = []
        for path in sorted((self.root / CONCEPTS).glob("*/concepts.json")):
            record = json.loads(path.read_text())
            layer = record["settings"]["layer"]
            for concept in record["concepts"]:
                words = concept.get("words") or {}
                labelled = bool(words.get("labelled"))
                texts = [f"{layer} {concept['name']}", "concept",
                         *([words["label"], *words["classes"], *words.get("broader", [])] if labelled else [])]
                if api.matches(text, api.words_of(texts)):
                    found.append({"layer": layer, "concept": concept["name"],
                                  "label": words["label"] if labelled else None, "auc": words.get("auc"),
                                  "page": f"/{CONCEPTS}/{path.parent.name}/concepts/{concept['name']}.html"})
        return found

    def unit(self, layer: str, unit: int) -> dict | None:
        """The atlas's record of a unit (its picture's activation, top photos, trust, label), or
        None before its layer renders it."""
        path = self.atlas_dir / "units" / api.safe_name(layer) / f"{unit:04d}.json"
        return json.loads(path.read_text()) if path.is_file() else None

    def circuit_folder(self, layer: str, unit: int) -> Path:
        return self.root / CIRCUITS / f"{api.safe_name(layer)}-{unit:04d}"

    def circuit(self, layer: str, unit: int) -> dict | None:
        """A unit's circuit in brief, once computed (see ``compute_circuit``), else None."""
        path = self.circuit_folder(layer, unit) / "circuit.json"
        if not path.is_file():
            return None
        data = json.loads(path.read_text())
        root, feeds = data["nodes"][0], data.get("feeds") or {}
        return {"page": f"{CIRCUITS}/{path.parent.name}/index.html", "input_layer": root["input_layer"],
                "top_share": root["ablation"]["top_share"], "small_circuit": root["ablation"]["small_circuit"],
                "built_from": [{"unit": i["unit"], "attribution": i["attribution"], "sign": i["sign"]}
                               for i in root["inputs"]],
                "feeds_layer": feeds.get("layer"), "feeds": feeds.get("units") or [],
                "classes": feeds.get("classes") or []}

    def compute_circuit(self, layer: str, unit: int, report: Report) -> dict:
        """Computes the unit's circuit over the workspace's photos (the units of the main layer
        before that build it, checked by ablation; the units and classes it feeds), as
        ``convscope circuit`` writes it; returns it in brief."""
        pictured = [layer, *self.model.earlier_main_layers(layer)[-1:]]
        api.circuit(self.model, f"{layer}:{unit}", photos=self.photos, out=self.circuit_folder(layer, unit),
                    recipe=self.recipe, steps=self.recipe.steps, seed=self.spec.seed,
                    atlas=self.atlas_dir if all(self.whole(name) for name in pictured) else None,
                    progress=lambda _stage, done, total: report.progress(done, total))
        found = self.circuit(layer, unit)
        assert found is not None  # the job wrote circuit.json
        return found

    def concepts_folder(self, layer: str) -> Path:
        return self.root / CONCEPTS / api.safe_name(layer)

    def concepts(self, layer: str) -> dict | None:
        """A layer's concepts once learned: their index page and how many; else None."""
        path = self.concepts_folder(layer) / "concepts.json"
        if not path.is_file():
            return None
        return {"layer": layer, "page": f"{CONCEPTS}/{path.parent.name}/index.html",
                "count": len(json.loads(path.read_text())["concepts"])}

    def compute_concepts(self, layer: str, report: Report) -> dict:
        """Learns the concepts of ``layer`` over the workspace's photos (the default dictionary),
        renders and measures them, as ``convscope concepts`` writes them; returns them in brief.
        While it reads the photos, it gives way to a job that goes before it (``Report.give_way``)."""
        def progress(stage: str, done: int, total: int) -> None:
            report.progress(done, total)
            if stage == "photos":  # its pass saves what it has read first, and goes on from there
                report.give_way()

        api.concepts(self.model, layer, self.photos, self.concepts_folder(layer), recipe=self.recipe,
                     seed=self.spec.seed, workers=self.spec.workers, epochs=self.spec.concept_epochs,
                     progress=progress)
        found = self.concepts(layer)
        assert found is not None  # the job wrote concepts.json
        return found

    def unit_concepts(self, layer: str, unit: int) -> list[dict]:
        """The concepts of the unit's layer whose atoms weigh it most, with their pages (none
        before the layer's concepts are learned)."""
        if self.concepts(layer) is None:
            return []
        folder = self.concepts_folder(layer)
        return [{**c, "page": f"{CONCEPTS}/{folder.name}/{c['page']}"}
                for c in api.concepts_of_unit(self.model, folder, unit)]

    def exemplars_folder(self, layer: str) -> Path:
        return self.root / EXEMPLARS / api.safe_name(layer)

    def exemplars(self, layer: str) -> bool:
        """Whether the layer's exemplars pass is finished."""
        return (self.exemplars_folder(layer) / "exemplars.json").is_file()

    def compute_exemplars(self, layer: str, report: Report) -> dict:
        """The layer's exemplars pass over all the workspace's photos (each unit's top photos by
        peak), as ``convscope exemplars`` writes it; it gives way to a job that goes before it
        (``Report.give_way``) between two shards, and goes on from them."""
        def progress(done: int, total: int) -> None:
            report.progress(done, total)
            report.give_way()  # between two shards of the pass, which saves what it has read first

        run = api.exemplars(self.model, self.photos, self.exemplars_folder(layer), [layer], workers=self.spec.workers,
                            progress=progress)
        return {"layer": layer, "photos": len(run.files), "skipped": len(run.skipped)}

    def exemplar_sheet(self, layer: str, unit: int) -> Path | None:
        """The unit's dataset examples as a picture (drawn once, then kept), or None before the
        layer's exemplars pass."""
        if not self.exemplars(layer):
            return None
        path = self.exemplars_folder(layer) / "sheets" / f"{unit:04d}.png"
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            api.exemplar_sheet(self.model, self.exemplars_folder(layer), layer, unit).save(path)
        return path

    def maps_folder(self, layer: str, unit: int) -> Path:
        return self.root / MAPS / f"{api.safe_name(layer)}-{unit:04d}"

    def unit_maps(self, layer: str, unit: int) -> dict | None:
        """A unit's top photos with its map over each, once drawn (see ``compute_maps``), else None."""
        path = self.maps_folder(layer, unit) / "maps.json"
        return json.loads(path.read_text()) if path.is_file() else None

    def compute_maps(self, layer: str, unit: int, report: Report) -> dict:
        """Draws the unit's map over each of its top photos (the atlas's, up to TOP_MAPS), kept in
        ``maps/``; returns the pictures' addresses and the photos' names."""
        record = self.unit(layer, unit)
        if record is None or not record.get("top_photos"):
            raise ConvscopeError(f"{layer}:{unit} has no top photos yet: its layer renders them first")
        names = [str(top["photo"]) for top in record["top_photos"][:TOP_MAPS]]
        folder = self.maps_folder(layer, unit)
        folder.mkdir(parents=True, exist_ok=True)
        report.progress(0, len(names))
        for k, picture in enumerate(api.unit_maps(self.model, layer, unit, [Path(self.photos) / n for n in names])):
            picture.save(folder / f"{k + 1}.png")
        found = {"maps": [f"{MAPS}/{folder.name}/{k + 1}.png" for k in range(len(names))], "photos": names}
        api.write_json(folder / "maps.json", found)  # last: its presence says the maps are whole
        return found

    def keep_photo(self, data: bytes, content_type: str) -> str:
        """Keeps a photo dropped on a page, named by its content; returns its name.

        Raises:
            ConvscopeError: not a photo of a known type, too large, or unreadable.
        """
        suffix = PHOTO_SUFFIXES.get(content_type.split(";")[0].strip().lower())
        if suffix is None:
            raise ConvscopeError(f"not a photo ({content_type or 'no type'}): drop a JPEG, PNG, WebP, GIF, BMP or TIFF "
                                 "file")
        if len(data) > MAX_PHOTO_BYTES:
            raise ConvscopeError(f"the photo is {len(data) / 2**20:.0f} MB: drop one of at most "
                                 f"{MAX_PHOTO_BYTES // 2**20} MB")
        name = f"photo-{hashlib.sha256(data).hexdigest()[:16]}{suffix}"
        path = self.root / PHOTOS / name
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            trial = path.with_name(f".{name}.part")
            trial.write_bytes(data)
            try:
                api.load_photo(trial)  # a file that does not decode is refused, and not kept
            except ConvscopeError as error:
                trial.unlink()
                raise ConvscopeError("the dropped file cannot be read as a photo: drop a JPEG, PNG, WebP, GIF, BMP "
                                     "or TIFF file") from error
            trial.replace(path)
        return name

    def explain(self, photo: str, layer: str, report: Report) -> dict:
        """Explains a kept photo by the units of ``layer`` (their pictures from the atlas when
        the layer is rendered whole, else rendered now), written as ``convscope explain``
        writes it; returns its page and top class."""
        out = self.root / EXPLAINED / f"{Path(photo).stem}-{api.safe_name(layer)}"
        pixels, _notes = api.load_photo(self.root / PHOTOS / photo)
        result = api.explain(self.model, pixels, layer, recipe=self.recipe, steps=self.recipe.steps, seed=self.spec.seed,
                             atlas=self.atlas_dir if self.whole(layer) else None, progress=report.progress)
        api.write_explanation(out, result, self.model.name, photo)
        return {"page": f"{EXPLAINED}/{out.name}/index.html", "layer": layer, "top_class": result.top_class}

    def _thumbnail_settings(self) -> str:
        """The name of the folder of first pictures of these settings (another recipe, step count
        or seed writes another)."""
        if self.thumbnail_recipe is None:
            return "none"
        digest = hashlib.sha256(json.dumps(self._thumbnail_key(), sort_keys=True).encode()).hexdigest()[:12]
        return f"{api.safe_name(self.thumbnail_recipe.name)}-{self.thumbnail_recipe.steps}-{digest}"

    def _thumbnail_key(self) -> dict:
        """What the first pictures depend on: the model, their recipe (stopped early) and the seed."""
        assert self.thumbnail_recipe is not None
        return {"model": self.model.name, "recipe": self.thumbnail_recipe.as_dict(), "seed": self.spec.seed}

    def steps(self) -> tuple[int | None, int]:
        """The steps of a layer's first pictures (None: none) and of its atlas."""
        return self.thumbnail_recipe.steps if self.thumbnail_recipe else None, self.recipe.steps

    def thumbnails(self, layer: str) -> dict[int, str]:
        """The units of ``layer`` with a first picture -> its address."""
        folder = self.thumbnails_dir / api.safe_name(layer)
        if self.thumbnail_recipe is None or not folder.is_dir():
            return {}
        return {int(path.stem): f"{THUMBNAILS}/{self.thumbnails_dir.name}/{folder.name}/{path.name}"
                for path in sorted(folder.glob("[0-9][0-9][0-9][0-9].png"))}

    def render_layer(self, layer: str, report: Report) -> dict:
        """Renders every unit of ``layer`` not yet in the atlas: first its first pictures (see
        ``render_thumbnails``), then in the atlas, where each is measured (batch by batch, so the
        first units appear first); shows each batch's pictures as they go about every
        PREVIEW_BATCH_SECONDS (``previews``); returns how many units were rendered in each part."""
        with self._batch_watch(layer, report) as watch:
            first = self.render_thumbnails(layer, report, watch)
            rendered = self._render_atlas(layer, (), report, watch)
        shutil.rmtree(self.thumbnails_dir / api.safe_name(layer), ignore_errors=True)  # the atlas holds them all now
        return {"layer": layer, "thumbnails": first, "rendered": rendered}

    def render_batch_of(self, layer: str, unit: int, report: Report) -> dict:
        """Renders and measures the atlas's batch of ``layer`` that holds ``unit`` (for its page,
        ahead of the rest of its layer), showing its pictures as they go; returns how many units
        were rendered."""
        with self._batch_watch(layer, report) as watch:
            rendered = self._render_atlas(layer, (unit,), report, watch)
        return {"layer": layer, "unit": unit, "rendered": rendered}

    def _render_atlas(self, layer: str, units: tuple[int, ...], report: Report, watch: api.BatchWatch) -> int:
        """Renders the units of ``layer`` not yet in the atlas (those of the batches that hold
        ``units``; all for none) into it; returns how many."""
        channels, rendering = self.model.layer(layer).channels, f"the atlas, {self.steps()[1]} steps"

        report.stage(rendering)
        return api.atlas(self.model, self.atlas_dir, render_layers=(layer,), units=units, photos=self.photos,
                         recipe=self.recipe, batch=self.spec.batch, seed=self.spec.seed,
                         workers=self.spec.workers, wait=True, watch=watch,
                         progress=lambda _done, _total, _busy: report.progress_in(rendering, len(self.rendered(layer)),
                                                                                  channels),
                         photos_progress=lambda done, total: report.progress_in(PHOTOS_STAGE, done, total)).rendered

    def render_thumbnails(self, layer: str, report: Report, watch: api.BatchWatch) -> int:
        """Renders the first pictures of the units of ``layer`` that have neither a picture in the
        atlas nor a first picture, in batches of the atlas's size (each unit's picture at the
        first ``thumbnail_steps`` steps of its atlas render, as a thumbnail of the atlas's size);
        returns how many."""
        recipe = self.thumbnail_recipe
        have = set(self.rendered(layer)) | set(self.thumbnails(layer))
        missing = [u for u in range(self.model.layer(layer).channels) if u not in have]
        if recipe is None or not missing:
            return 0
        report.stage(f"first pictures, {recipe.steps} steps")
        folder = self.thumbnails_dir / api.safe_name(layer)
        folder.mkdir(parents=True, exist_ok=True)
        api.write_json(self.thumbnails_dir / "settings.json", self._thumbnail_key())
        for start in range(0, len(missing), self.spec.batch):
            batch = missing[start:start + self.spec.batch]

            def progress(done: int, _total: int, before: int = start) -> None:
                report.progress(before + done // recipe.steps, len(missing))  # in units

            pictures, _values = api.unit_pictures(self.model, layer, batch, recipe=recipe, seed=self.spec.seed,
                                                  watch=watch, progress=progress)
            for unit, picture in zip(batch, pictures):
                api.atlas_thumbnail(picture).save(folder / f"{unit:04d}.png")
            report.give_way()
        return len(missing)

    @contextmanager
    def _batch_watch(self, layer: str, report: Report) -> Iterator[api.BatchWatch]:
        """Within the block, what shows a batch's pictures of ``layer`` as they stand, about every
        PREVIEW_BATCH_SECONDS, in ``previews/`` (removed when the block ends), and gives way at
        every step to a job that goes before this one (see ``Report.give_way``)."""
        folder = self.root / PREVIEWS / api.safe_name(layer)
        shown = [time.monotonic()]

        def watch(_layer: str, batch: Sequence[int], images: torch.Tensor) -> None:
            report.give_way()  # to a picture a person watches form: this batch starts again after it
            if time.monotonic() - shown[0] < PREVIEW_BATCH_SECONDS:
                return
            small = [api.atlas_thumbnail(api.Picture.from_tensor(image.detach().float().clamp(0, 1).cpu()))
                     for image in images]
            stamp, shown_now = time.monotonic_ns(), self._previews.setdefault(layer, {})
            folder.mkdir(parents=True, exist_ok=True)
            for unit, picture in zip(batch, small):
                path = folder / f"{unit:04d}-{stamp}.png"  # a file of its own, so none changes while read
                picture.save(path)
                kept = shown_now.setdefault(unit, [])
                kept.append(path)
                if len(kept) > 2:  # a page may still be reading the one before
                    kept.pop(0).unlink(missing_ok=True)
            report.preview(self.previews(layer)[batch[0]])  # the page follows the job's state; a stop ends here
            shown[0] = time.monotonic()

        try:
            yield watch
        finally:
            self._previews.pop(layer, None)
            shutil.rmtree(folder, ignore_errors=True)

    def previews(self, layer: str) -> dict[int, str]:
        """The units of ``layer`` being rendered now -> the address of their picture as it stands."""
        return {unit: f"{PREVIEWS}/{paths[-1].parent.name}/{paths[-1].name}"
                for unit, paths in dict(self._previews.get(layer, {})).items() if paths}

    def render_objective(self, text: str, steps: int, report: Report, recipe_name: str | None = None) -> dict:
        """Renders an objective in the text form with the workspace's recipe or the built-in one
        ``recipe_name``, showing the picture as it stands about twice a second and at the last
        step, with the objective on that step's views (``report.preview``), and keeps it in
        ``renders/``; returns its name, file, recipe and activation."""
        recipe = api.recipe_from(recipe_name or self.recipe, steps=steps)
        settings = {"objective": text, "steps": steps, "recipe": recipe.as_dict(), "seed": self.spec.seed}
        name = "render-" + hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
        self.renders_dir.mkdir(parents=True, exist_ok=True)
        for stale in self.renders_dir.glob("*.preview-*.png"):  # the last pictures shown by renders that ended
            if time.time() - stale.stat().st_mtime > STALE_PREVIEW_SECONDS:
                stale.unlink(missing_ok=True)
        previews: list[Path] = []  # each picture shown gets a file of its own, so none changes while read
        seen, shown = [0], [time.monotonic()]

        def watch(images: torch.Tensor, values: torch.Tensor) -> None:
            seen[0] += 1
            if seen[0] == steps or time.monotonic() - shown[0] >= PREVIEW_SECONDS:
                preview = self.renders_dir / f"{name}.preview-{seen[0]:05d}.png"
                api.Picture.from_tensor(images[0].detach().clamp(0, 1).cpu()).save(preview)
                report.preview(f"{RENDERS}/{preview.name}", float(values[0]))
                previews.append(preview)
                if len(previews) > 2:  # the page may still be reading the one before
                    previews.pop(0).unlink(missing_ok=True)
                shown[0] = time.monotonic()

        result = api.pictures(self.model, text, recipe=recipe, seed=self.spec.seed, progress=report.progress,
                              watch=watch)
        result.pictures[0].save(self.renders_dir / f"{name}.png")  # the same settings give the same file
        record = {"name": name, "objective": text, "steps": steps, "recipe": recipe.name,
                  "activation": float(result.final[0]), "file": f"{RENDERS}/{name}.png"}
        api.write_json(self.renders_dir / f"{name}.json", record)
        return record

    def renders(self) -> list[dict]:
        """The renders kept, newest first."""
        kept = sorted(self.renders_dir.glob("*.json"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        return [json.loads(p.read_text()) for p in kept]

    def export(self, out: str | Path) -> Path:
        """Writes what the workspace holds as pages that need no server: the atlas's site, the
        renders, the circuits and the explained photos, with an index page that links them;
        returns the index page."""
        out = Path(out)
        for name in (ATLAS, RENDERS, CIRCUITS, EXPLAINED):
            if (self.root / name).is_dir():
                shutil.copytree(self.root / name, out / name, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("*.preview-*.png", ".*"))
        circuits = sorted(p.parent.name for p in (self.root / CIRCUITS).glob("*/circuit.json"))
        explained = sorted(p.parent.name for p in (self.root / EXPLAINED).glob("*/explain.json"))
        index = out / "index.html"
        index.write_text(views.exported_index(self.model.name, self.atlas_dir.is_dir(), self.renders(), circuits,
                                              explained))
        return index
