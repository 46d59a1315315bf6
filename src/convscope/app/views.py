"""The explorer's pages, as HTML with their style and scripts inline (nothing is fetched from
elsewhere, so the app works offline): the layers, a layer's grid of units (rendered on demand,
filled in as they come), and live renders of objectives."""
from __future__ import annotations

import json
from html import escape
from urllib.parse import quote

STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;background:#111;color:#ddd}
a{color:#9cf} h1,h2{font-weight:500} table{border-collapse:collapse}
td,th{padding:2px 10px;text-align:left;border-bottom:1px solid #333}
nav a{margin-right:1em} .grid{display:flex;flex-wrap:wrap;gap:3px}
.grid a,.grid span.todo{display:block;width:64px;height:64px;position:relative;background:#222}
.grid img{width:64px;height:64px;display:block} .grid i{position:absolute;left:2px;bottom:1px;font-size:10px;
color:#fff;font-style:normal;text-shadow:0 0 2px #000} progress{width:24em} .error{color:#f88}
input[type=text]{width:28em}
"""

JOB_SCRIPT = """
async function follow(job, onProgress, onEnd){
  const events = new EventSource('/api/jobs/' + encodeURIComponent(job.id) + '/events');
  events.onmessage = (message) => {
    const state = JSON.parse(message.data);
    onProgress(state);
    if (state.state === 'done' || state.state === 'failed'){ events.close(); onEnd(state); }
  };
}
async function start(body){
  const response = await fetch('/api/jobs', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                             body: JSON.stringify(body)});
  const data = await response.json();
  if (!response.ok){ throw new Error(data.error); }
  return data;
}
function show(bar, line, state){
  if (state.total){ bar.max = state.total; bar.value = state.done; }
  line.textContent = state.state + (state.total ? ' ' + state.done + ' / ' + state.total : '') +
                     (state.error ? ': ' + state.error : '');
  line.className = state.state === 'failed' ? 'error' : '';
}
"""


def page(title: str, body: str, script: str = "") -> str:
    """A whole page: the shared style, a navigation bar, the body and its script."""
    nav = "<nav><a href=\"/\">layers</a><a href=\"/render\">render</a><a href=\"/atlas/index.html\">atlas and search</a></nav>"
    return (f"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{escape(title)}</title>"
            f"<style>{STYLE}</style></head>\n<body>{nav}\n{body}\n"
            f"<script>{JOB_SCRIPT}{script}</script></body></html>\n")


def home(model: str, photos: str, layers: list[dict]) -> str:
    """The layers of the network, with how much of each is rendered."""
    rows = "".join(f"<tr><td><a href=\"/layer/{quote(layer['name'], safe='')}\">{escape(layer['name'])}</a></td>"
                   f"<td>{escape(layer['kind'])}</td><td>{layer['units']}</td><td>{layer['rendered']}</td></tr>"
                   for layer in layers)
    body = (f"<h1>{escape(model)}</h1><p>Photos: {escape(photos)}. A layer's units render when the layer is first "
            "opened, batch by batch, and are kept in the workspace's atlas; each unit's page is the atlas's (its "
            "picture, top photos, trust and label).</p><p><input type=\"search\" id=\"search\" size=\"40\" "
            "aria-label=\"search\" placeholder=\"search rendered units: block8:12, dog, tabby\"></p>"
            "<ul id=\"found\"></ul><table><tr><th>layer</th><th>kind</th><th>units</th><th>rendered</th></tr>"
            f"{rows}</table>")
    script = """
const box = document.getElementById('search'), found = document.getElementById('found');
box.addEventListener('input', async () => {
  const response = await fetch('/api/search?q=' + encodeURIComponent(box.value));
  found.replaceChildren();
  for (const unit of await response.json()){
    const item = document.createElement('li'), link = document.createElement('a');
    link.href = unit.page; link.textContent = unit.layer + ':' + unit.unit;
    item.append(link, unit.label ? ' ' + unit.label + ' (AUC ' + unit.auc.toFixed(2) + ')' : '');
    found.append(item);
  }
});
"""
    return page(f"{model}: layers", body, script)


def layer_grid(model: str, layer: str, units: int, rendered: list[int], stem: str) -> str:
    """A layer's units as a grid: thumbnails of those rendered, the others as they come."""
    cells = "".join(f"<span class=\"todo\" id=\"u{u}\"><i>{u}</i></span>" for u in range(units))
    body = (f"<h1>{escape(model)} &middot; {escape(layer)}</h1><p><progress id=\"bar\" value=\"0\"></progress> "
            f"<span id=\"line\"></span></p><div class=\"grid\">{cells}</div>")
    script = f"""
const layer = {_js(layer)}, stem = {_js(stem)};
function fill(units){{
  for (const u of units){{
    const cell = document.getElementById('u' + u);
    if (!cell || cell.tagName === 'A') continue;
    const name = String(u).padStart(4, '0');
    const link = document.createElement('a');
    link.id = 'u' + u; link.href = '/atlas/units/' + stem + '/' + name + '.html';
    const img = document.createElement('img'), label = document.createElement('i');
    img.alt = layer + ':' + u; img.src = '/atlas/units/' + stem + '/' + name + '.thumb.png';
    label.textContent = String(u);
    link.append(img, label);
    cell.replaceWith(link);
  }}
}}
async function refresh(){{
  const response = await fetch('/api/layers/' + encodeURIComponent(layer) + '/units');
  fill((await response.json()).rendered);
}}
fill({rendered});
const bar = document.getElementById('bar'), line = document.getElementById('line');
start({{kind: 'layer', layer: layer}}).then(job => follow(job, state => {{ show(bar, line, state); refresh(); }},
                                                          state => refresh()))
  .catch(error => {{ line.textContent = error.message; line.className = 'error'; }});
"""
    return page(f"{model}: {layer}", body, script)


def render_page(model: str, renders: list[dict], recipe: str) -> str:
    """A form to render an objective live, and the renders kept."""
    kept = "".join(f"<figure><img src=\"/{escape(r['file'])}\" width=\"160\" alt=\"{escape(r['objective'])}\">"
                   f"<figcaption>{escape(r['objective'])}<br>{r['recipe']}, {r['steps']} steps: activation "
                   f"{r['activation']:.3f}</figcaption></figure>" for r in renders)
    body = (f"<h1>{escape(model)} &middot; render</h1><form id=\"form\"><p>Objective <input type=\"text\" "
            "id=\"objective\" value=\"block8:12\" aria-label=\"objective\"> (such as block8:12 - 0.5*block8:40) "
            f"steps <input type=\"number\" id=\"steps\" value=\"128\" min=\"1\" max=\"4096\" aria-label=\"steps\"> "
            f"<button>render</button> (recipe {escape(recipe)})</p></form><p><progress id=\"bar\" value=\"0\">"
            "</progress> <span id=\"line\"></span></p><div id=\"result\"></div>"
            f"<h2>Kept</h2><div class=\"kept\">{kept}</div>")
    script = """
const bar = document.getElementById('bar'), line = document.getElementById('line');
document.getElementById('form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const body = {kind: 'render', objective: document.getElementById('objective').value,
                steps: Number(document.getElementById('steps').value)};
  try {
    const job = await start(body);
    follow(job, state => {
      show(bar, line, state);
      if (state.preview && state.state === 'running'){
        const shown = document.getElementById('result');
        shown.innerHTML = '<figure><img width="256" alt="as it stands"><figcaption></figcaption></figure>';
        shown.querySelector('img').src = '/' + state.preview;
        shown.querySelector('figcaption').textContent = 'as it stands: activation ' +
          (state.preview_value === null ? '-' : state.preview_value.toFixed(3)) + ' (on this step\'s views)';
      }
    }, state => {
      if (state.state !== 'done') return;
      const r = state.result;
      document.getElementById('result').innerHTML = '<figure><img width="256" src="/' + r.file + '"><figcaption>' +
        'activation ' + r.activation.toFixed(3) + '</figcaption></figure>';
    });
  } catch (error) { line.textContent = error.message; line.className = 'error'; }
});
"""
    return page(f"{model}: render", body, script)


def not_found(what: str) -> str:
    return page("not found", f"<h1>Not found</h1><p>{escape(what)}</p>")


def _js(text: str) -> str:
    """``text`` as a JavaScript string literal that cannot end the script."""
    return json.dumps(text).replace("<", "\\u003c")
