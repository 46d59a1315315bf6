"""The activation atlas as a static page and a sheet: every cell's picture at its place in the
grid, zoomable (buttons, slider, Ctrl + wheel); choosing a cell shows its count, the classes
its direction drives most and the photo crops nearest to it. Opens from disk; every string
from the model or the folder is escaped."""
from __future__ import annotations

import json
from html import escape
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from convscope.data.activation_atlas_record import ActivationAtlasRecord
from convscope.io.photo_reading import load_photo
from convscope.io.picture import Picture
from convscope.pages.page import page, write_text

SHEET_CELL_PX = 64
STYLE = """
.bar{display:flex;gap:8px;align-items:center;margin:8px 0} .bar button{font-size:16px;width:32px}
.wrap{display:flex;gap:16px;align-items:flex-start}
.viewport{width:640px;height:640px;overflow:auto;border:1px solid #333;background:#000}
.sheet{display:grid;gap:1px;width:640px;height:640px}
.sheet button{padding:0;border:0;background:#000;position:relative;cursor:pointer;min-width:0;min-height:0}
.sheet button img{width:100%;height:100%;display:block}
.sheet button span{position:absolute;left:2px;bottom:1px;font-size:10px;color:#fff;text-shadow:0 0 2px #000}
.sheet button:focus,.sheet button.on{outline:2px solid #9cf;z-index:1}
#detail figure{margin:0} #detail img.big{width:256px;height:256px;display:block}
#detail ol{padding-left:1.4em} #detail .crops img{height:64px;display:block}
"""
SCRIPT = """
const sheet = document.getElementById('sheet'), zoom = document.getElementById('zoom');
function setZoom(z) {
  z = Math.min(8, Math.max(1, z)); zoom.value = z;
  sheet.style.width = sheet.style.height = (640 * z) + 'px';
  document.getElementById('zoomed').textContent = z + 'x';
}
zoom.addEventListener('input', () => setZoom(+zoom.value));
document.getElementById('in').addEventListener('click', () => setZoom(+zoom.value + 1));
document.getElementById('out').addEventListener('click', () => setZoom(+zoom.value - 1));
document.getElementById('viewport').addEventListener('wheel', e => {
  if (!e.ctrlKey) return; e.preventDefault(); setZoom(+zoom.value + (e.deltaY < 0 ? 1 : -1)); }, {passive: false});
function show(i) {
  const c = CELLS[i];
  document.querySelectorAll('.sheet button.on').forEach(b => b.classList.remove('on'));
  document.querySelector('.sheet button[data-i="' + i + '"]').classList.add('on');
  document.getElementById('title').textContent = 'cell ' + c.name + ': ' + c.count + ' activations';
  const big = document.getElementById('big'); big.src = 'cells/' + c.name + '.png';
  big.alt = 'the direction of cell ' + c.name;
  const list = document.getElementById('classes');
  list.replaceChildren(...c.classes.map(k => {
    const li = document.createElement('li'); li.textContent = k.name + ' (p = ' + k.probability.toFixed(2) + ')'; return li; }));
  const crops = document.getElementById('crops'); crops.src = 'cells/' + c.name + '.photos.png';
  document.getElementById('files').textContent = c.photos.map(p => p.file).join(', ');
}
sheet.querySelectorAll('button').forEach(b => b.addEventListener('click', () => show(+b.dataset.i)));
show(BIGGEST);
"""


def write_atlas_sheet(out: Path, atlas: ActivationAtlasRecord) -> Path:
    """atlas.png: every cell's picture at its place, SHEET_CELL_PX a cell, black where empty."""
    grid = atlas.grid
    sheet = np.zeros((grid * SHEET_CELL_PX, grid * SHEET_CELL_PX, 3), dtype=np.uint8)
    for cell in atlas.cells:
        pixels, _ = load_photo(out / "cells" / f"{cell.name}.png")
        small = F.interpolate(torch.from_numpy(np.array(pixels)).permute(2, 0, 1)[None].float(), size=(SHEET_CELL_PX,) * 2,
                              mode="bilinear", antialias=True, align_corners=False)[0]
        y, x = cell.row * SHEET_CELL_PX, cell.column * SHEET_CELL_PX
        sheet[y:y + SHEET_CELL_PX, x:x + SHEET_CELL_PX] = small.clamp(0, 255).round().byte().permute(1, 2, 0).numpy()
    return Picture(sheet).save(out / "atlas.png")


def write_atlas_page(out: Path, atlas: ActivationAtlasRecord) -> Path:
    """index.html and atlas.png of a finished atlas."""
    write_atlas_sheet(out, atlas)
    grid, cells = atlas.grid, atlas.cells
    buttons = "".join(
        f"<button data-i=\"{i}\" style=\"grid-row:{c.row + 1};grid-column:{c.column + 1}\" "
        f"title=\"{escape(c.name)}: {c.count}\"><img src=\"cells/{escape(c.name)}.png\" "
        f"alt=\"cell {escape(c.name)}\"><span>{c.count}</span></button>" for i, c in enumerate(cells))
    biggest = max(range(len(cells)), key=lambda i: cells[i].count)
    payload = json.dumps([c.to_json() for c in cells]).replace("</", "<\\/")
    recipe = atlas.recipe
    body = (f"<style>{STYLE}</style>"
            f"<h1>{escape(atlas.model)} &middot; activation atlas of {escape(atlas.layer)}</h1>"
            f"<p>{atlas.samples} activation vectors of {escape(atlas.layer)} from {atlas.photos_read} photos, "
            f"laid out with UMAP and binned into a {grid} x {grid} grid; each of the {len(cells)} cells with "
            f"{atlas.min_count} or more vectors shows the picture of its mean direction (recipe "
            f"{escape(recipe['name'])}, {recipe['steps']} steps). The classes are those the direction drives "
            f"most: the network's top classes for the cell's picture. The crops are the photos nearest to the "
            f"cell's mean direction, cut to the layer's receptive field.</p>"
            f"<div class=\"bar\"><button id=\"out\" aria-label=\"zoom out\">&minus;</button>"
            f"<input id=\"zoom\" type=\"range\" min=\"1\" max=\"8\" step=\"1\" value=\"1\" aria-label=\"zoom\">"
            f"<button id=\"in\" aria-label=\"zoom in\">+</button><span id=\"zoomed\">1x</span>"
            f"<span>(Ctrl + wheel zooms too; <a href=\"atlas.png\">the sheet as one picture</a>)</span></div>"
            f"<div class=\"wrap\"><div class=\"viewport\" id=\"viewport\"><div class=\"sheet\" id=\"sheet\" "
            f"style=\"grid-template-columns:repeat({grid},1fr);grid-template-rows:repeat({grid},1fr)\">{buttons}"
            f"</div></div><div id=\"detail\"><h2 id=\"title\"></h2><figure><img class=\"big\" id=\"big\" alt=\"\">"
            f"</figure><h3>Classes it drives most</h3><ol id=\"classes\"></ol><h3>Nearest photos</h3>"
            f"<div class=\"crops\"><img id=\"crops\" alt=\"the photo crops nearest to the cell\"></div>"
            f"<p id=\"files\"></p></div></div>"
            f"<script>const CELLS = {payload}; const BIGGEST = {biggest};{SCRIPT}</script>")
    index = out / "index.html"
    write_text(index, page(f"{atlas.model} activation atlas of {atlas.layer}", body))
    return index
