"""Trust as a job: a layer's units rendered and measured against a photo folder (the ratio,
the path score, the machine's two-alternative choice), written to a folder: ``trust.json``,
each unit's pictures and path plot, a contact sheet, and on request the trials as a page
people can take, with its answer key."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch
import torch.nn.functional as F

from convscope.data.atlas_folder import unit_stem
from convscope.data.photo_sources import PhotosLike, PhotoSource, as_source
from convscope.data.trust_record import TrustRecord
from convscope.engine.recipes import get_recipe
from convscope.errors import OutOfRangeError
from convscope.io.files import write_json
from convscope.io.picture import Picture, column, labelled, row
from convscope.jobs.job_folder import JobFolder
from convscope.jobs.specs import TrustSpec
from convscope.methods.fidelity import UnitFidelity, measure_units, median_of
from convscope.methods.trust.assess import TrustSettings, trials_for
from convscope.methods.trust.judge import load_judge
from convscope.methods.trust.path import path_layers
from convscope.methods.trust.plot import path_plot
from convscope.methods.trust.verdict import MIN_OTHER_UNITS, verdict_counts
from convscope.models.base import VisionModel
from convscope.pages.trials_page import write_trials_page
from convscope.runtime.progress import Progress

TRUST_FILE = "trust.json"
ANSWER_KEY = "answer-key.json"
SHEET_PHOTOS = 3  # top photos beside each unit's pictures on the sheet (from its trials' top pool)
TRIAL_PX = 192


@dataclass
class TrustReport:
    """What ``assess_trust`` measured and where it wrote it."""

    out: Path
    measured: UnitFidelity
    record: TrustRecord
    trials_page: Path | None = None

    def _repr_html_(self) -> str:
        return self.measured._repr_html_()


def summary(rows: Sequence[dict]) -> dict:
    """The medians over the units of each measure and control, and the verdicts' counts."""
    return {"median_ratio": median_of(r["ratio"] for r in rows),
            "median_path_score": median_of(r["path_score"] for r in rows),
            "median_choice_pictures": median_of(r["choice_pictures"] for r in rows),
            "median_choice_photos": median_of(r["choice_photos"] for r in rows),
            "median_choice_random": median_of(r["trust"]["choice_random"]["score"] for r in rows),
            "median_path_noise": median_of(r["trust"]["controls"]["noise"]["path_score"] for r in rows),
            "median_choice_noise": median_of(r["trust"]["controls"]["noise"]["choice"]["score"] for r in rows),
            "median_choice_other_units": median_of(r["trust"]["controls"]["other_units"]["median_choice"]
                                                   for r in rows),
            "verdicts": verdict_counts(r["verdict"] for r in rows)}


def assess_trust(model: VisionModel, layer: str, photos: PhotosLike, out: str | Path, spec: TrustSpec, *,
                 progress: Progress | None = None) -> TrustReport:
    """Measures how far each unit's pictures show what the unit does on real photos, and
    writes the evidence into ``out``.

    Args:
        model: the network.
        layer: the layer (not its first: the path needs earlier layers).
        photos: the photos (a folder of any size; see ``PhotosLike``).
        out: the output folder.
        spec: the options: the units, the judge (another network), the trials per unit and kind
            of reference, the references per kind (the unit's best photos, and its pictures),
            the recipe, the seed, the batch, a folder for the trials as a page people can take.
        progress: called with (unit-steps done, unit-steps in all).
    Returns:
        The measures, the record written as trust.json, and the trials page.
    Raises:
        OutOfRangeError: the layer is the first one, a unit or an option out of range, or too
            few photos for the trials.
        JobFolderError: ``out`` holds a trust run of other settings, or another run is writing it.
    """
    units = spec.units_of(model, layer)
    source = as_source(photos)
    settings = TrustSettings(load_judge(spec.judge, model), trials_for(spec.trials, len(source), spec.references),
                             spec.references, spec.false_positive)
    recipe, seed, batch, export = get_recipe(spec.recipe), spec.seed, spec.batch, spec.export
    path_layers(model, layer)
    check_enough_units(model, layer, units)
    out = Path(out)
    key = {"job": "trust", "model": model.name, "layer": model.layer(layer).name, "units": [int(u) for u in units],
           "recipe": recipe.as_dict(), "seed": seed, "batch": batch, "trust": settings.as_dict(),
           "photos": source.signature(), "precision": model.effective_precision}
    with JobFolder(out, key, wait=spec.wait):
        measured = measure_units(model, layer, source, spec, progress=progress, trust=settings)
        sheet_rows = []
        for unit, pictures, unit_trust in zip(units, measured.pictures, measured.trust):
            stem = unit_stem(unit)
            for k, picture in enumerate(pictures):
                picture.save(out / (f"{stem}.png" if k == 0 else f"{stem}.picture{k}.png"))
            assert unit_trust.path is not None  # path_layers checked that the layer has earlier layers
            plot = path_plot(f"{measured.layer}:{unit}", unit_trust.path, unit_trust.noise.path)
            plot.save(out / f"{stem}.path.png")
            side = pictures[0].size[1]
            best = sorted(unit_trust.photo_means.items(), key=lambda item: -item[1])[:SHEET_PHOTOS]
            tops = [photo_picture(source, model, i, side) for i, _v in best]
            sheet_rows.append(labelled(row(list(pictures) + tops + [plot]), f"{measured.layer}:{unit}"))
        column(sheet_rows).save(out / "sheet.png")
        record = TrustRecord(**measured.settings,
                             photos_folder=str(photos) if isinstance(photos, (str, Path)) else None,
                             skipped_photos=len(source.skipped), skipped=list(source.skipped),
                             **summary(measured.rows), units=measured.rows)
        page = write_trials(Path(export), model, measured, source) if export is not None else None
        write_json(out / TRUST_FILE, record.to_json())
        return TrustReport(out, measured, record, page)


def check_enough_units(model: VisionModel, layer: str, units: Sequence[int]) -> None:
    """Refuses too few units for each to have MIN_OTHER_UNITS others as its control (a layer
    with fewer channels is measured whole, its verdicts then "cannot say" at most)."""
    channels = model.layer(layer).channels
    needed = min(MIN_OTHER_UNITS + 1, channels)
    if len(units) < needed:
        raise OutOfRangeError(f"{len(units)} units are too few: each unit's pictures are compared with the pictures "
                              f"of at least {MIN_OTHER_UNITS} other units of the layer, so give {{units}} at least "
                              f"{needed} units (such as 0-{needed - 1})", options=["units"])


def photo_picture(source: PhotoSource, model: VisionModel, index: int, side: int) -> Picture:
    """Photo ``index`` as the network sees it, ``side`` px square."""
    image = F.interpolate(source.image(model, index).cpu(), size=(side, side), mode="bilinear", antialias=True,
                          align_corners=False)[0].clamp(0, 1)
    return Picture.from_tensor(image)


def write_trials(folder: Path, model: VisionModel, measured: UnitFidelity, source: PhotoSource) -> Path:
    """The trials of both kinds of reference as a page (index.html, images/) and their answer
    key (answer-key.json: the right query, both queries' photos and means, and the machine's pick)."""
    images = folder / "images"
    images.mkdir(parents=True, exist_ok=True)
    written: dict[int, str] = {}

    def photo_path(index: int) -> str:
        if index not in written:
            name = f"images/photo-{index:06d}.png"
            photo_picture(source, model, index, TRIAL_PX).save(folder / name)
            written[index] = name
        return written[index]

    shown, key = [], {}
    for unit_trust, pictures in zip(measured.trust, measured.pictures):
        unit = unit_trust.unit
        picture_paths = []
        for k, picture in enumerate(pictures):
            name = f"images/{unit_stem(unit)}-picture{k}.png"
            picture.save(folder / name)
            picture_paths.append(name)
        for kind, score in (("pictures", unit_trust.choice_pictures), ("photos", unit_trust.choice_photos)):
            for n, (trial, pick) in enumerate(zip(unit_trust.trials, score.picks)):
                trial_id = f"{measured.layer}:{unit}/{kind}/{n}"
                refs = picture_paths if kind == "pictures" else [photo_path(i) for i in trial.references]
                queries = (trial.strong, trial.weak) if trial.strong_first else (trial.weak, trial.strong)
                shown.append({"id": trial_id, "unit": f"{measured.layer}:{unit}", "references": refs,
                              "queries": [photo_path(i) for i in queries]})
                strong_side, weak_side = ("A", "B") if trial.strong_first else ("B", "A")
                key[trial_id] = {"answer": strong_side, "unit": unit, "references": kind,
                                 "strong_photo": source.names[trial.strong], "weak_photo": source.names[trial.weak],
                                 "strong_mean": unit_trust.photo_means[trial.strong],
                                 "weak_mean": unit_trust.photo_means[trial.weak],
                                 "machine": strong_side if pick else weak_side}
    order = torch.randperm(len(shown), generator=torch.Generator().manual_seed(measured.settings["seed"])).tolist()
    study = f"{model.name} {measured.layer}: which photo excites the unit more?"
    write_json(folder / ANSWER_KEY, {"study": study, "layer": measured.layer, "model": model.name,
                                     "trials": len(shown), "answers": key})
    return write_trials_page(folder, study, [shown[i] for i in order])
