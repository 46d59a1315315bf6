"""The static page of an explanation: the photo with the layer's grid over it; hovering (or
focusing) a cell shows the units that fire most there, with their pictures; below, the units
that drive the top class. Opens from disk; every string from the model is escaped."""
from __future__ import annotations

import json
from html import escape
from pathlib import Path

from convscope.io.files import write_json
from convscope.methods.explain import Explanation
from convscope.pages.page import page, write_text

PHOTO_PX = 448
SCRIPT = """
const cells = document.querySelectorAll('.cell');
const panel = document.getElementById('panel');
function show(i) {
  panel.replaceChildren(...POSITIONS[i].map(e => {
    const f = document.createElement('figure');
    const img = document.createElement('img');
    img.src = 'units/' + String(e.unit).padStart(4, '0') + '.png'; img.width = 128; img.height = 128;
    img.alt = 'unit ' + e.unit;
    const c = document.createElement('figcaption');
    c.textContent = 'unit ' + e.unit + ': ' + e.activation.toFixed(2);
    f.append(img, c); return f;
  }));
  document.getElementById('where').textContent = 'position (' + (i % GRID[1]) + ', ' + Math.floor(i / GRID[1]) + ')';
}
cells.forEach(c => { c.addEventListener('mouseenter', () => show(+c.dataset.i));
                     c.addEventListener('focus', () => show(+c.dataset.i)); });
show(Math.floor(GRID[0] / 2) * GRID[1] + Math.floor(GRID[1] / 2));
"""
STYLE = """
.photo{position:relative;width:%dpx;height:%dpx} .photo img{width:100%%;height:100%%;display:block}
.cells{position:absolute;inset:0;display:grid}
.cell{border:1px solid rgba(255,255,255,.15)} .cell:hover,.cell:focus{background:rgba(255,255,255,.25);outline:none}
.row{display:flex;gap:16px;align-items:flex-start} #panel,.drivers{display:flex;gap:8px;flex-wrap:wrap}
figure{margin:0} figcaption{font-size:12px;color:#aaa}
""" % (PHOTO_PX, PHOTO_PX)


def write_explanation(out: str | Path, explanation: Explanation, model_name: str, photo_name: str) -> Path:
    """Writes index.html, the photo, the unit pictures and explain.json into ``out``."""
    out = Path(out)
    e = explanation
    explanation.photo.save(out / "photo.png")
    for unit, picture in e.pictures.items():
        picture.save(out / "units" / f"{unit:04d}.png")
    h, w = e.grid
    top = e.top_class
    data = {"model": model_name, "photo": photo_name, "layer": e.layer, "grid": [h, w], "top_class": top,
            "positions": e.positions, "class_units": e.class_units, "pictures": e.source}
    write_json(out / "explain.json", data)
    cells = "".join(f"<div class=\"cell\" tabindex=\"0\" data-i=\"{i}\"></div>" for i in range(h * w))
    drivers = "".join(
        f"<figure><img src=\"units/{d['unit']:04d}.png\" width=\"128\" height=\"128\" alt=\"unit {d['unit']}\">"
        f"<figcaption>unit {d['unit']}: {d['contribution']:.3f}</figcaption></figure>" for d in e.class_units)
    payload = json.dumps(e.positions).replace("</", "<\\/")
    body = (f"<style>{STYLE}</style>"
            f"<h1>{escape(model_name)} &middot; {escape(photo_name)} at {escape(e.layer)}</h1>"
            f"<p>Top class: <b>{escape(top['name'])}</b> (class {top['index']}, p = {top['probability']:.3f}). "
            f"Hover a cell of the {w} x {h} grid to see the units of {escape(e.layer)} that fire most there "
            f"(pictures {escape('rendered now' if e.source == 'rendered' else 'from the atlas')}).</p>"
            f"<div class=\"row\"><div class=\"photo\"><img src=\"photo.png\" alt=\"the photo as the network saw "
            f"it\"><div class=\"cells\" style=\"grid-template-columns:repeat({w},1fr);"
            f"grid-template-rows:repeat({h},1fr)\">{cells}</div></div>"
            f"<div><h2 id=\"where\"></h2><div id=\"panel\"></div></div></div>"
            f"<h2>Units that drive {escape(top['name'])} most (activation x gradient, summed over positions)</h2>"
            f"<div class=\"drivers\">{drivers}</div>"
            f"<script>const POSITIONS = {payload}; const GRID = [{h}, {w}];{SCRIPT}</script>")
    index = out / "index.html"
    write_text(index, page(f"{model_name} {photo_name} at {e.layer}", body))
    return index
