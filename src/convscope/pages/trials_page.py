"""The two-alternative trials as a static page a person can take: one trial at a time, the
unit's references above two query photos; the answers stay in the browser (localStorage)
and download as JSON. The answer key is a separate file the page never reads."""
from __future__ import annotations

import json
from html import escape
from pathlib import Path

from convscope.pages.page import page, write_text

TRIALS_STYLE = """
.refs,.queries{display:flex;gap:8px;flex-wrap:wrap;margin:8px 0}
.refs img{width:128px;height:128px} .queries button{background:#222;border:2px solid #444;padding:4px;cursor:pointer}
.queries button:hover{border-color:#9cf} .queries img{width:192px;height:192px;display:block}
#done{display:none}
"""

SCRIPT = """
const trials = JSON.parse(document.getElementById('trials').textContent);
const key = 'convscope-trials-' + document.body.dataset.study;
let answers = JSON.parse(localStorage.getItem(key) || '{}');
let shownAt = 0;
function img(src, alt) { const i = document.createElement('img'); i.src = src; i.alt = alt; return i; }
function show() {
  const next = trials.find(t => !(t.id in answers));
  document.getElementById('count').textContent = Object.keys(answers).length + ' of ' + trials.length + ' answered';
  if (!next) {
    document.getElementById('trial').style.display = 'none';
    document.getElementById('done').style.display = 'block';
    return;
  }
  document.getElementById('unit').textContent = next.unit;
  const refs = document.getElementById('refs'); refs.replaceChildren();
  next.references.forEach((src, i) => refs.appendChild(img(src, 'reference ' + (i + 1))));
  ['A', 'B'].forEach((side, i) => {
    const button = document.getElementById('query' + side);
    button.replaceChildren(img(next.queries[i], 'query ' + side));
    button.onclick = () => answer(next.id, side);
  });
  shownAt = performance.now();
}
function answer(id, side) {
  answers[id] = {choice: side, ms: Math.round(performance.now() - shownAt)};
  localStorage.setItem(key, JSON.stringify(answers));
  show();
}
document.getElementById('download').onclick = () => {
  const blob = new Blob([JSON.stringify(answers, null, 1)], {type: 'application/json'});
  const a = document.createElement('a'); a.href = URL.createObjectURL(blob); a.download = 'answers.json'; a.click();
};
document.getElementById('restart').onclick = () => { answers = {}; localStorage.removeItem(key); location.reload(); };
show();
"""


def write_trials_page(folder: Path, study: str, trials: list[dict]) -> Path:
    """index.html of the trials.

    Args:
        folder: where the page goes (its images are under it already).
        study: what the trials are of (its title, and the key its answers are kept under).
        trials: per trial its ``id``, ``unit`` (the text shown), ``references`` and the two
            ``queries`` (image paths relative to ``folder``), in the order they are shown.
    Returns:
        The page's path.
    """
    data = json.dumps(trials).replace("</", "<\\/")
    body = (f"<h1>{escape(study)}</h1>"
            "<p>Each trial shows images that strongly excite one unit of a network. Which of the two photos below "
            "excites that unit more? Click it. Your answers are kept in this browser; download them at the end.</p>"
            "<p id=\"count\"></p>"
            "<div id=\"trial\"><h2>Unit <span id=\"unit\"></span></h2><div class=\"refs\" id=\"refs\"></div>"
            "<p>Which photo excites the unit more?</p><div class=\"queries\">"
            "<button id=\"queryA\" type=\"button\"></button><button id=\"queryB\" type=\"button\"></button></div></div>"
            "<div id=\"done\"><h2>All trials answered</h2><button id=\"download\" type=\"button\">Download answers"
            "</button> <button id=\"restart\" type=\"button\">Start again</button></div>"
            f"<script type=\"application/json\" id=\"trials\">{data}</script><script>{SCRIPT}</script>")
    html = page(study, body).replace("</style>", TRIALS_STYLE + "</style>", 1)
    html = html.replace("<body>", f"<body data-study=\"{escape(study, quote=True)}\">", 1)
    path = folder / "index.html"
    write_text(path, html)
    return path
