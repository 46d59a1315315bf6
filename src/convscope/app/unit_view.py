"""A unit's page in the explorer: its picture (rendered alone while its layer renders), atlas
record, circuit, concepts and dataset examples, each part shown once computed."""
from __future__ import annotations

import json
from dataclasses import dataclass
from html import escape
from urllib.parse import quote

from convscope.app.views import concepts_part, job_button, js_string, page


def maps_part(maps: dict | None, photos: bool) -> str:
    """Its top photos with its map over each (where it fires, as heat), drawn when the page first
    asks (the script starts that job)."""
    if maps is None:
        return ("<div id=\"maps\"><p>Where it fires in them: <progress hidden></progress> <span>drawing its maps"
                "</span></p></div>") if photos else ""
    shown = "".join(f"<img src=\"/{escape(src)}\" width=\"128\" alt=\"its map over {escape(name)}\" "
                    f"title=\"{escape(name)}\">" for src, name in zip(maps["maps"], maps["photos"]))
    return f"<p>Where it fires in them (its activation as heat, each photo scaled to its peak):</p><p>{shown}</p>"


MAPS_SCRIPT = """
const mapsBox = document.getElementById('maps');
if (mapsBox){
  const bar = mapsBox.querySelector('progress'), line = mapsBox.querySelector('span');
  start({kind: 'maps', layer: layer, unit: unit}).then(job => follow(job, state => show(bar, line, state), state => {
    if (state.state !== 'done') return;
    const row = document.createElement('p');
    state.result.maps.forEach((src, k) => {
      const img = document.createElement('img');
      img.src = '/' + src; img.width = 128; img.alt = 'its map over ' + state.result.photos[k];
      img.title = state.result.photos[k];
      row.append(img);
    });
    mapsBox.replaceChildren(Object.assign(document.createElement('p'), {textContent:
      'Where it fires in them (its activation as heat, each photo scaled to its peak):'}), row);
  })).catch(error => { line.textContent = error.message; line.className = 'error'; });
}
"""


def exemplars_part(layer: str, unit: int, done: bool) -> str:
    """A unit's dataset examples (its top photos over the whole folder, cropped to its receptive
    field around the peak) once its layer's exemplars pass is done; else a button that runs it."""
    if done:
        return (f"<p><img src=\"/api/units/{quote(layer, safe='')}/{unit}/exemplars.png\" width=\"288\" "
                f"alt=\"dataset examples of {escape(layer)}:{unit}\"></p>")
    return job_button("exemplars", layer, "find its dataset examples", "one pass of the layer over all the photos")


@dataclass(frozen=True)
class UnitParts:
    """What a unit's page shows, as far as computed: the atlas's ``record`` (None before its
    layer renders), its ``circuit`` in brief, the ``concepts`` that weigh it most; whether its
    layer has positions (``spatial``), is the network's ``first``, and has its ``exemplars``
    pass; the ``steps`` of the workspace's recipe; its top photos' ``maps`` once drawn."""

    layer: str
    unit: int
    stem: str
    record: dict | None
    circuit: dict | None
    concepts: list[dict]
    spatial: bool
    steps: int
    first: bool
    exemplars: bool
    maps: dict | None


def unit_page(model: str, parts: UnitParts) -> str:
    """One unit: its picture, activation, top photos, trust verdict and label (from the atlas,
    once its layer is rendered; opening the page starts that, and meanwhile renders the unit
    alone, shown as it improves), its circuit (built from, feeds, the classes it drives; none
    for the first layer), computed when first asked and then kept, the concepts of its layer
    that weigh it most (once learned), and its dataset examples over all the photos (once its
    layer's exemplars pass is done; else a button starts it)."""
    layer, unit, stem, record, circuit, concepts = (parts.layer, parts.unit, parts.stem, parts.record, parts.circuit,
                                                    parts.concepts)
    spatial, steps, first, exemplars = parts.spatial, parts.steps, parts.first, parts.exemplars
    name = f"{unit:04d}"
    base = f"/atlas/units/{stem}/{name}"
    if record is None:
        shown = ("<div class=\"unit\"><figure id=\"live\"><figcaption>rendering it alone...</figcaption></figure>"
                 "<p id=\"waiting\">Its batch of units is rendering for the atlas, ahead of the rest of its layer: "
                 "its own picture there, its top photos and trust come with it. "
                 "<progress id=\"bar\" value=\"0\"></progress> <span id=\"line\"></span>"
                 "</p></div>")
    else:
        words = record.get("words") or {}
        trust = record.get("trust") or {}
        verdict = (trust.get("verdict") or {}).get("text") or record.get("verdict") or "not measured"
        label = words.get("label") if words.get("labelled") else None
        photos = "".join(f"<img src=\"{base}.top{i}.png\" width=\"96\" alt=\"top photo {i}: "
                         f"{escape(str(p['photo']))}\" title=\"{escape(str(p['photo']))}\">"
                         for i, p in enumerate(record.get("top_photos") or [], start=1) if i <= 8)
        shown = (f"<div class=\"unit\"><img src=\"{base}.png\" width=\"224\" alt=\"{escape(layer)}:{unit}\">"
                 f"<table><tr><th>activation of its picture</th><td>{record['activation']:.3f}</td></tr>"
                 f"<tr><th>... over the best photo's</th><td>{number_text(record.get('ratio'))}</td></tr>"
                 f"<tr><th>can its picture be trusted?</th><td>{escape(str(verdict))}</td></tr>"
                 f"<tr><th>in words</th><td>{escape(label) if label else 'no label'}</td></tr></table></div>"
                 f"<h2>Top photos</h2><p>{photos or 'none: the atlas was built without a photo folder'}</p>"
                 + maps_part(parts.maps, bool(photos))
                 + f"<p><a href=\"{base}.html\">its atlas page</a>: where its picture looks, its trust measures and "
                 "controls, its label's score.</p>")
    if concepts:
        weighed = "".join(f"<li><a href=\"/{escape(c['page'])}\">{escape(c['name'])}</a> (weight {c['weight']:.2f})"
                          f"{': ' + escape(c['label']) if c['label'] else ''}</li>" for c in concepts)
        concepts_html = f"<p>The concepts of {escape(layer)} that weigh it most:</p><ul id=\"unit-concepts\">{weighed}</ul>"
    else:
        concepts_html = concepts_part(layer, None, spatial) or "<p>Its layer has no positions: no concepts.</p>"
    body = (f"<h1>{escape(model)} &middot; {escape(layer)}:{unit}</h1>{shown}"
            f"<p><a href=\"/render?objective={quote(f'{layer}:{unit}')}\">render it with another recipe or more "
            "steps</a></p><h2>Built from, and what it feeds</h2>"
            "<p><progress id=\"cbar\" value=\"0\"></progress> <span id=\"cline\"></span></p>"
            f"<div id=\"circuit\"></div><h2>Its concepts</h2>{concepts_html}<h2>Dataset examples</h2>"
            + exemplars_part(layer, unit, exemplars))
    script = f"""
const layer = {js_string(layer)}, unit = {unit}, known = {json.dumps(circuit)}, first = {json.dumps(first)};
function unitLink(l, u, text){{
  const a = document.createElement('a');
  a.href = '/unit/' + encodeURIComponent(l) + '/' + u; a.textContent = text || (l + ':' + u);
  return a;
}}
function showCircuit(c){{
  const box = document.getElementById('circuit');
  box.replaceChildren();
  const lead = document.createElement('p');
  lead.textContent = 'Its top ' + c.built_from.length + ' inputs of ' + c.input_layer + ' explain ' +
    Math.round(100 * c.top_share) + '% of it' + (c.small_circuit ? '.' : ': it is not a small circuit.') + ' ';
  const page = document.createElement('a'); page.href = '/' + c.page; page.textContent = 'the circuit page';
  lead.append(page);
  const from = document.createElement('p'); from.append('Built from: ');
  for (const i of c.built_from){{
    from.append(unitLink(c.input_layer, i.unit), ' (' + i.sign + ', ' + i.attribution.toFixed(3) + ') ');
  }}
  const feeds = document.createElement('p'); feeds.append('Feeds: ');
  for (const f of c.feeds){{ feeds.append(unitLink(c.feeds_layer, f.unit), ' (' + f.drop.toFixed(3) + ') '); }}
  const classes = document.createElement('p');
  classes.textContent = 'Drives the classes: ' + c.classes.map(k => k.name + ' (' + k.drop.toFixed(3) + ')').join(', ');
  box.append(lead, from, feeds, classes);
}}
const cbar = document.getElementById('cbar'), cline = document.getElementById('cline');
function startCircuit(){{
  if (known){{ showCircuit(known); cbar.hidden = true; return; }}
  if (first){{ cbar.hidden = true; cline.textContent = 'the first layer: no earlier layer builds its units'; return; }}
  start({{kind: 'circuit', layer: layer, unit: unit}}).then(job => follow(job, state => show(cbar, cline, state),
      state => {{ if (state.state === 'done'){{ showCircuit(state.result); cbar.hidden = true; cline.textContent = ''; }} }}))
    .catch(error => {{ cline.textContent = error.message; cline.className = 'error'; }});
}}
function showLive(figure, src, caption){{
  figure.replaceChildren();
  const img = document.createElement('img'), text = document.createElement('figcaption');
  img.src = src; img.width = 224; img.alt = layer + ':' + unit + ' as it stands'; text.textContent = caption;
  figure.append(img, text);
}}
if (!document.getElementById('waiting')) startCircuit();
{MAPS_SCRIPT}
else {{
  const live = document.getElementById('live');
  start({{kind: 'render', objective: layer + ':' + unit, steps: {steps}}}).then(job => follow(job, state => {{
      if (state.preview && state.state === 'running')
        showLive(live, '/' + state.preview, 'as it stands: activation ' +
                 (state.preview_value === null ? '-' : state.preview_value.toFixed(3)) + " (on this step's views)");
    }}, state => {{
      if (state.state === 'done') showLive(live, '/' + state.result.file, 'rendered alone: activation ' +
                                           state.result.activation.toFixed(3));
    }}))
    .catch(error => {{ live.textContent = error.message; live.className = 'error'; }});
  const bar = document.getElementById('bar'), line = document.getElementById('line');
  start({{kind: 'layer', layer: layer, unit: unit}}).then(job => {{ startCircuit(); follow(job, async state => {{
      show(bar, line, state);
      const answer = await fetch('/api/units/' + encodeURIComponent(layer) + '/' + unit);
      if ((await answer.json()).atlas) location.reload();
    }}, state => {{ if (state.state === 'done') location.reload(); }}); }})
    .catch(error => {{ line.textContent = error.message; line.className = 'error'; }});
}}
"""
    return page(f"{model}: {layer}:{unit}", body, script)


def number_text(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
