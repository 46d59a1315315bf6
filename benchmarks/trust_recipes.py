"""Section 17: which recipe's pictures show what the units do on real photos, at which depth.

For efficientnet-lite0 (stem, block2, block5, block8, block12, head, logits; units 0-15 each)
and the recipes keras2016, lucid and maco: the ratio, the path score and the machine's
two-alternative choice (pictures, top photos, random photos as references), over a folder of
distinct images: every colour and gray photo that ships with scikit-image and scikit-learn,
and the wallpapers of Debian's plasma-workspace-wallpapers package when a folder of them is
given (``apt-get download plasma-workspace-wallpapers; dpkg-deb -x *.deb DIR``).

``python -m benchmarks.trust_recipes OUT [WALLPAPERS] [--quick]`` prints one JSON line.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

import convscope
from convscope.io.picture import Picture, column, labelled, row

from .harness import machine
from .photos import distinct_photos

LAYERS = ("stem", "block2", "block5", "block8", "block12", "head", "logits")
RECIPES = ("keras2016", "lucid", "maco")
REFERENCES = 1  # one picture per unit, as the atlas has it (three would triple the renders: hours on 2 cores)


def spread(values: list[float | None]) -> dict:
    known = sorted(v for v in values if v is not None)
    if not known:
        return {"median": None, "q1": None, "q3": None, "count": 0}
    q1, median, q3 = np.percentile(known, [25, 50, 75]).tolist()
    return {"median": median, "q1": q1, "q3": q3, "count": len(known)}


def main(out: Path, wallpapers: Path | None, quick: bool) -> dict:
    photos = distinct_photos(out / "photos", wallpapers)
    model = convscope.load("efficientnet-lite0")
    units = list(range(4 if quick else 16))
    rows, sheet_rows = [], []
    for recipe in RECIPES:
        for layer in LAYERS:
            start = time.perf_counter()
            report = convscope.stats(model, layer, units, photos=photos, recipe=recipe, seed=0, references=REFERENCES)
            seconds = time.perf_counter() - start
            r = report.rows
            rows.append({"recipe": recipe, "layer": layer, "units": len(units), "seconds": seconds,
                         "ratio": spread([x["ratio"] for x in r]),
                         "ratio_above_1": sum(1 for x in r if x["ratio"] is not None and x["ratio"] > 1),
                         "path_score": spread([x["path_score"] for x in r]),
                         "choice_pictures": spread([x["choice_pictures"] for x in r]),
                         "choice_photos": spread([x["choice_photos"] for x in r]),
                         "choice_random": spread([x["trust"]["choice_random"]["score"] for x in r]),
                         "photos": report.settings["photos"],
                         "per_unit": [{"unit": x["unit"], "ratio": x["ratio"], "path_score": x["path_score"],
                                       "choice_pictures": x["choice_pictures"], "choice_photos": x["choice_photos"],
                                       "choice_random": x["trust"]["choice_random"]["score"]} for x in r]})
            small = [Picture.from_tensor(_small(p[0])) for p in report.pictures]
            sheet_rows.append(labelled(row(small, 2), f"{recipe} {layer}"))
            print(json.dumps(rows[-1]), file=sys.stderr)
    sheet = column(sheet_rows, 4)
    sheet_path = Path(__file__).resolve().parent.parent / "sheets" / "trust-recipes.jpg"
    if not quick:
        sheet.save(sheet_path)
    return {"trust_recipes": rows, "trust_recipes_machine": machine(), "trust_recipes_sheet": str(sheet_path.name)}


def _small(picture: Picture):
    import torch.nn.functional as F

    return F.interpolate(picture.to_tensor()[None], size=(64, 64), mode="bilinear", antialias=True,
                         align_corners=False)[0]


if __name__ == "__main__":
    arguments = [a for a in sys.argv[1:] if a != "--quick"]
    result = main(Path(arguments[0]), Path(arguments[1]) if len(arguments) > 1 else None, "--quick" in sys.argv)
    print(json.dumps(result))
