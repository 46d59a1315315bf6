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
.grid span.todo img{opacity:0.6} .grid a.first::after,.dot{content:'';position:absolute;right:3px;top:3px;width:6px;
height:6px;border-radius:50%;background:#fc6} .dot{position:static;display:inline-block;margin:0 .3em 1px}
.grid img{width:64px;height:64px;display:block} .grid i{position:absolute;left:2px;bottom:1px;font-size:10px;
color:#fff;font-style:normal;text-shadow:0 0 2px #000} progress{width:24em} .error{color:#f88}
input[type=text]{width:28em} .unit{display:flex;gap:1.5em;align-items:flex-start}
#drop{border:2px dashed #555;padding:1em;margin:1em 0;max-width:40em} #drop.over{border-color:#9cf}
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
document.addEventListener('DOMContentLoaded', () => {
  for (const box of document.querySelectorAll('.job-button')){
    const button = box.querySelector('button'), bar = box.querySelector('progress'), line = box.querySelector('span');
    button.addEventListener('click', () => {
      button.disabled = true; bar.hidden = false;
      start({kind: button.dataset.kind, layer: button.dataset.layer}).then(job => follow(job,
          state => show(bar, line, state), state => { if (state.state === 'done') location.reload(); }))
        .catch(error => { line.textContent = error.message; line.className = 'error'; button.disabled = false; });
    });
  }
});
function show(bar, line, state){
  if (state.total){ bar.max = state.total; bar.value = state.done; }
  line.textContent = state.state + (state.stage && state.state === 'running' ? ': ' + state.stage : '') +
                     (state.total ? ' ' + state.done + ' / ' + state.total : '') +
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
    """The layers of the network, with what of each is computed (see ``Workspace.layers``)."""
    rows = "".join(f"<tr><td><a href=\"/layer/{quote(layer['name'], safe='')}\">{escape(layer['name'])}</a></td>"
                   f"<td>{escape(layer['kind'])}</td><td>{layer['units']}</td><td>{layer['rendered']}</td>"
                   f"<td>{layer['first_pictures'] or ''}</td><td>{layer['concepts'] or ''}</td>"
                   f"<td>{'done' if layer['exemplars'] else ''}</td></tr>"
                   for layer in layers)
    body = (f"<h1>{escape(model)}</h1><p>Photos: {escape(photos)}. A layer's units render when the layer is first "
            "opened, batch by batch: first their first pictures, then into the workspace's atlas, where they are "
            "kept; each unit has a page (its picture, top photos, trust, label and circuit).</p>"
            "<p><input type=\"search\" id=\"search\" size=\"40\" "
            "aria-label=\"search\" placeholder=\"search units and concepts: block8:12, dog, tabby\"></p>"
            "<ul id=\"found\"></ul><table><tr><th>layer</th><th>kind</th><th>units</th><th>rendered</th>"
            "<th>first pictures</th><th>concepts</th><th>exemplars pass</th></tr>"
            f"{rows}</table>" + drop_zone([layer["name"] for layer in layers if layer["spatial"]]))
    script = """
const box = document.getElementById('search'), found = document.getElementById('found');
box.addEventListener('input', async () => {
  const response = await fetch('/api/search?q=' + encodeURIComponent(box.value));
  found.replaceChildren();
  for (const unit of await response.json()){
    const item = document.createElement('li'), link = document.createElement('a');
    if (unit.concept){ link.href = unit.page; link.textContent = unit.layer + ' concept ' + unit.concept; }
    else {
      link.href = '/unit/' + encodeURIComponent(unit.layer) + '/' + unit.unit;
      link.textContent = unit.layer + ':' + unit.unit;
    }
    item.append(link, unit.label ? ' ' + unit.label + ' (AUC ' + unit.auc.toFixed(2) + ')' : '');
    found.append(item);
  }
});
"""
    return page(f"{model}: layers", body, script + DROP_SCRIPT)


def drop_zone(layers: list[str]) -> str:
    """Where a photo is dropped (or chosen) to be explained by a layer's units."""
    if not layers:
        return ""
    chosen = layers[round(0.6 * (len(layers) - 1))]
    options = "".join(f"<option{' selected' if name == chosen else ''}>{escape(name)}</option>" for name in layers)
    return ("<div id=\"drop\"><p>Drop a photo here, or <input type=\"file\" id=\"file\" accept=\"image/*\" "
            f"aria-label=\"photo\">, to explain it by the units of <select id=\"explain-layer\" aria-label=\"layer\">"
            f"{options}</select>.</p><p><progress id=\"ebar\" value=\"0\" hidden></progress> <span id=\"eline\">"
            "</span></p><div id=\"explained\"></div></div>")


DROP_SCRIPT = """
const drop = document.getElementById('drop');
async function explainPhoto(file){
  const line = document.getElementById('eline'), bar = document.getElementById('ebar');
  line.className = ''; line.textContent = 'sending ' + file.name;
  try {
    const answer = await fetch('/api/photos', {method: 'POST', headers: {'Content-Type': file.type || 'application/octet-stream'},
                                               body: file});
    const kept = await answer.json();
    if (!answer.ok) throw new Error(kept.error);
    bar.hidden = false;
    const job = await start({kind: 'explain', photo: kept.photo, layer: document.getElementById('explain-layer').value});
    follow(job, state => show(bar, line, state), state => {
      if (state.state !== 'done') return;
      bar.hidden = true;
      line.textContent = 'top class ' + state.result.top_class.name + ' (p = ' +
                         state.result.top_class.probability.toFixed(3) + '): ';
      const link = document.createElement('a'); link.href = '/' + state.result.page; link.textContent = 'its explanation';
      line.append(link);
      const frame = document.createElement('iframe');
      frame.src = '/' + state.result.page; frame.width = '100%'; frame.height = '640'; frame.title = 'explanation';
      document.getElementById('explained').replaceChildren(frame);
    });
  } catch (error) { line.textContent = error.message; line.className = 'error'; }
}
if (drop){
  drop.addEventListener('dragover', event => { event.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', event => {
    event.preventDefault(); drop.classList.remove('over');
    if (event.dataTransfer.files.length) explainPhoto(event.dataTransfer.files[0]);
  });
  document.getElementById('file').addEventListener('change', event => {
    if (event.target.files.length) explainPhoto(event.target.files[0]);
  });
}
"""


def layer_grid(model: str, layer: str, units: int, rendered: list[int], stem: str, concepts: dict | None,
               spatial: bool, steps: tuple[int | None, int]) -> str:
    """A layer's units as a grid: thumbnails of those rendered, the others as they come (first
    their pictures as they render, then their first pictures at ``steps[0]`` steps where there
    are, then the atlas's at ``steps[1]``), each a link to its unit's page once it has a picture
    of its own; its concepts, or a button that learns them (a layer with positions)."""
    cells = "".join(f"<span class=\"todo\" id=\"u{u}\"><i>{u}</i></span>" for u in range(units))
    first_steps, steps_now = steps
    legend = (f"<p>Dimmed: a picture as it renders. With a <span class=\"dot\"></span>dot: its first "
              f"{first_steps} steps, until the atlas's picture at {steps_now} steps replaces it.</p>"
              if first_steps and len(rendered) < units else "")
    body = (f"<h1>{escape(model)} &middot; {escape(layer)}</h1><p><progress id=\"bar\" value=\"0\"></progress> "
            f"<span id=\"line\"></span></p>{concepts_part(layer, concepts, spatial)}{legend}"
            f"<div class=\"grid\">{cells}</div>")
    script = f"""
const layer = {js_string(layer)}, stem = {js_string(stem)}, firstSteps = {first_steps or 0}, atlasSteps = {steps_now};
function place(u, src, kind, about){{
  const cell = document.getElementById('u' + u);
  if (!cell || cell.classList.contains('done') || (kind === 'first' && cell.classList.contains('first'))) return;
  const link = document.createElement('a');
  link.id = 'u' + u; link.className = kind; link.href = '/unit/' + encodeURIComponent(layer) + '/' + u;
  const img = document.createElement('img'), label = document.createElement('i');
  img.alt = layer + ':' + u; img.src = src; img.title = layer + ':' + u + ', ' + about;
  label.textContent = String(u);
  link.append(img, label);
  cell.replaceWith(link);
}}
function fill(units){{
  for (const u of units){{
    place(u, '/atlas/units/' + stem + '/' + String(u).padStart(4, '0') + '.thumb.png', 'done', atlasSteps + ' steps');
  }}
}}
function first(shown){{
  for (const [u, src] of Object.entries(shown)){{
    place(u, '/' + src, 'first', 'its first ' + firstSteps + ' of ' + atlasSteps + ' steps');
  }}
}}
function preview(shown){{
  for (const [u, src] of Object.entries(shown)){{
    const cell = document.getElementById('u' + u);
    if (!cell || cell.tagName === 'A') continue;  // it has a picture of its own already
    let img = cell.querySelector('img');
    if (!img){{ img = document.createElement('img'); img.alt = layer + ':' + u + ' as it renders'; cell.prepend(img); }}
    img.src = '/' + src;
  }}
}}
async function refresh(){{
  const response = await fetch('/api/layers/' + encodeURIComponent(layer) + '/units');
  const state = await response.json();
  fill(state.rendered);
  first(state.thumbnails || {{}});
  preview(state.previews || {{}});
}}
fill({rendered});
const bar = document.getElementById('bar'), line = document.getElementById('line');
start({{kind: 'layer', layer: layer}}).then(job => follow(job, state => {{ show(bar, line, state); refresh(); }},
                                                          state => refresh()))
  .catch(error => {{ line.textContent = error.message; line.className = 'error'; }});
"""
    return page(f"{model}: {layer}", body, script)


def concepts_part(layer: str, concepts: dict | None, spatial: bool) -> str:
    """A layer's concepts: a link once learned, else a button that learns them (minutes)."""
    if concepts is not None:
        return (f"<p>Its concepts: <a href=\"/{escape(concepts['page'])}\">{concepts['count']} concepts of "
                f"{escape(layer)}</a>.</p>")
    if not spatial:
        return ""
    return job_button("concepts", layer, "learn its concepts",
                      "a dictionary over the photos, each concept rendered and measured: minutes")


def job_button(kind: str, layer: str, label: str, about: str) -> str:
    """A button that starts a layer's job of ``kind`` (see JOB_BUTTON_SCRIPT), with its progress
    beside it; the page reloads when the job is done."""
    return (f"<p class=\"job-button\"><button type=\"button\" data-kind=\"{escape(kind)}\" "
            f"data-layer=\"{escape(layer)}\">{escape(label)}</button> ({escape(about)}) <progress hidden></progress> "
            "<span></span></p>")


def render_page(model: str, renders: list[dict], recipe: str, recipes: list[str]) -> str:
    """A form to render an objective live (with the workspace's ``recipe`` or a built-in one of
    ``recipes``; ``?objective=`` fills it in), and the renders kept."""
    kept = "".join(f"<figure><img src=\"/{escape(r['file'])}\" width=\"160\" alt=\"{escape(r['objective'])}\">"
                   f"<figcaption>{escape(r['objective'])}<br>{escape(r['recipe'])}, {r['steps']} steps: activation "
                   f"{r['activation']:.3f}</figcaption></figure>" for r in renders)
    options = "".join(f"<option value=\"{escape(name)}\"{' selected' if name == recipe else ''}>{escape(name)}"
                      f"{' (the workspace' + chr(39) + 's)' if name == recipe else ''}</option>"
                      for name in dict.fromkeys([recipe, *recipes]))
    body = (f"<h1>{escape(model)} &middot; render</h1><form id=\"form\"><p>Objective <input type=\"text\" "
            "id=\"objective\" value=\"block8:12\" aria-label=\"objective\"> (such as block8:12 - 0.5*block8:40) "
            f"steps <input type=\"number\" id=\"steps\" value=\"128\" min=\"1\" max=\"4096\" aria-label=\"steps\"> "
            f"recipe <select id=\"recipe\" aria-label=\"recipe\">{options}</select> "
            "<button>render</button></p></form><p><progress id=\"bar\" value=\"0\">"
            "</progress> <span id=\"line\"></span></p><div id=\"result\"></div>"
            f"<h2>Kept</h2><div class=\"kept\">{kept}</div>")
    script = """
const bar = document.getElementById('bar'), line = document.getElementById('line');
const asked = new URLSearchParams(location.search).get('objective');
if (asked) document.getElementById('objective').value = asked;
document.getElementById('form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const body = {kind: 'render', objective: document.getElementById('objective').value,
                steps: Number(document.getElementById('steps').value),
                recipe: document.getElementById('recipe').value};
  try {
    delete document.getElementById('result').dataset.previews;
    const job = await start(body);
    follow(job, state => {
      show(bar, line, state);
      if (state.preview && state.state === 'running'){
        const shown = document.getElementById('result');
        const seen = shown.dataset.previews ? shown.dataset.previews.split(' ') : [];
        if (!seen.includes(state.preview)) seen.push(state.preview);
        shown.dataset.previews = seen.join(' ');
        shown.innerHTML = '<figure><img width="256" alt="as it stands"><figcaption></figcaption></figure>';
        shown.querySelector('img').src = '/' + state.preview;
        shown.querySelector('figcaption').textContent = 'as it stands: activation ' +
          (state.preview_value === null ? '-' : state.preview_value.toFixed(3)) + " (on this step's views)";
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


def exported_index(model: str, atlas: bool, renders: list[dict], circuits: list[str], explained: list[str]) -> str:
    """The index of an exported workspace: links to the atlas, the circuits and the explained
    photos, and the renders kept, as a page that needs no server (relative links only)."""
    kept = "".join(f"<figure><img src=\"{escape(r['file'])}\" width=\"160\" alt=\"{escape(r['objective'])}\">"
                   f"<figcaption>{escape(r['objective'])}<br>{escape(r['recipe'])}, {r['steps']} steps: activation "
                   f"{r['activation']:.3f}</figcaption></figure>" for r in renders)
    links = "".join(f"<li><a href=\"circuits/{quote(name)}/index.html\">{escape(name)}</a></li>" for name in circuits)
    photos = "".join(f"<li><a href=\"explained/{quote(name)}/index.html\">{escape(name)}</a></li>" for name in explained)
    body = (f"<h1>{escape(model)}</h1>"
            + ("<p><a href=\"atlas/index.html\">The atlas</a>: every unit rendered, with its page.</p>" if atlas else "")
            + (f"<h2>Circuits</h2><ul>{links}</ul>" if circuits else "")
            + (f"<h2>Explained photos</h2><ul>{photos}</ul>" if explained else "")
            + (f"<h2>Renders</h2><div class=\"kept\">{kept}</div>" if renders else ""))
    return (f"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{escape(model)}</title>"
            f"<style>{STYLE}</style></head>\n<body>\n{body}\n</body></html>\n")


def not_found(what: str) -> str:
    return page("not found", f"<h1>Not found</h1><p>{escape(what)}</p>")


def js_string(text: str) -> str:
    """``text`` as a JavaScript string literal that cannot end the script."""
    return json.dumps(text).replace("<", "\\u003c")
