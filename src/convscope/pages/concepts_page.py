"""The concepts as static pages: ``index.html`` with the measures at the top (beside the units
baseline), the classes weighed, and a card per concept (picture, photo crops with its map, top
classes, frequency, energy), sortable; and one page per concept. Opens from disk; every string
from the model or the folder is escaped."""
from __future__ import annotations

import json
from html import escape
from pathlib import Path

from convscope.methods.concepts.record import ConceptRecord, ConceptsRecord
from convscope.methods.labels.result import words_of
from convscope.pages.atlas_site import circuit_section
from convscope.pages.labels_section import label_texts, words_section
from convscope.pages.page import page, write_text
from convscope.pages.search_box import SearchEntry, search_box
from convscope.pages.search_box import entry as search_entry
from convscope.pages.trust_section import trust_note, trust_section

STYLE = """
.cards{display:flex;flex-wrap:wrap;gap:10px} .card{background:#1a1a1a;padding:6px;width:300px}
.card img.pic{width:128px;height:128px} .card .strip img{height:48px;display:block} .strip img{height:96px;display:block}
.card h3{margin:2px 0;font-size:14px} .card p{margin:2px 0;font-size:12px;color:#aaa}
.big{width:256px;height:256px} .bar{margin:8px 0}
"""
SORT_SCRIPT = """
const cards = document.getElementById('cards');
document.getElementById('sort').addEventListener('change', e => {
  const key = e.target.value;
  const items = Array.from(cards.children);
  items.sort((a, b) => key === 'index' ? (+a.dataset.index - +b.dataset.index) : (+b.dataset[key] - +a.dataset[key]));
  cards.replaceChildren(...items);
});
"""


def _number(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _measures_table(record: ConceptsRecord) -> str:
    rows = [("explained variance (held-out)", "explained_variance", 3), ("active per vector (L0)", "l0", 2),
            ("dead", "dead", 0), ("largest |cosine| between two atoms", "dictionary_similarity", 3),
            ("stability (second seed, matched |cosine|)", "stability", 3)]
    concepts, units = record.measures, record.units_baseline
    body = "".join(f"<tr><td>{label}</td><td>{_number(getattr(concepts, field), d)}</td>"
                   f"<td>{_number(getattr(units, field), d)}</td></tr>" for label, field, d in rows)
    note = record.baseline_note()
    warning = f"<p class=\"note\"><b>{escape(note)}</b></p>" if note else ""
    return (f"{warning}<table><tr><th>measure</th><th>concepts</th><th>units, {record.settings['k']} largest kept</th>"
            f"</tr>{body}</table>")


def _classes_section(record: ConceptsRecord) -> str:
    parts = []
    for entry in record.classes:
        name = escape(entry.name)
        if not entry.sobol_total or entry.order is None or entry.deletion is None:
            parts.append(f"<p>No photo is classified as {name}: its concepts cannot be weighed.</p>")
            continue
        sobol = entry.sobol_total
        links = ", ".join(f"<a href=\"concepts/c{i:03d}.html\">c{i:03d}</a> ({sobol[i]:.3f})" for i in entry.order[:5])
        deletion = entry.deletion
        parts.append(f"<p><b>{name}</b> ({entry.photos} photos): most important concepts {links}. Deleting them "
                     f"in that order: area under the class's logit curve {deletion.auc_important_first:.3f}, "
                     f"against {deletion.auc_random_order:.3f} in random orders (lower falls faster).</p>")
    return "<h2>Classes weighed</h2>" + "".join(parts) if parts else ""


def _classes_text(concept: ConceptRecord) -> str:
    return "; ".join(f"{escape(c.name)} ({c.logit_fall:+.2f})" for c in (concept.classes or [])[:3])


def _card(concept: ConceptRecord, folder: str) -> str:
    name = concept.name
    crops = (f"<div class=\"strip\"><img src=\"{folder}{name}.photos.png\" alt=\"top photos of {name}\"></div>"
             if concept.photos else "<p>never active</p>")
    return (f"<div class=\"card\" data-index=\"{concept.index}\" data-frequency=\"{concept.frequency}\" "
            f"data-energy=\"{concept.energy}\" data-activation=\"{concept.activation}\">"
            f"<h3><a href=\"{folder}{name}.html\">{name}</a></h3>"
            f"<a href=\"{folder}{name}.html\"><img class=\"pic\" src=\"{folder}{name}.png\" alt=\"picture of {name}\"></a>"
            f"{crops}<p>frequency {concept.frequency:.3f} &middot; energy {concept.energy:.3f}</p>"
            f"{_trust_line(concept)}{_label_line(concept)}"
            f"<p>drives: {_classes_text(concept) or 'n/a'}</p></div>")


def _label_line(concept: ConceptRecord) -> str:
    words = concept.words
    if not words:
        return ""
    label = escape(words["label"]) if words["labelled"] else "no label"
    return f"<p>label: {label} (AUC {words['auc']:.2f})</p>"


def _search_entries(record: ConceptsRecord) -> list[SearchEntry]:
    """Every concept, found by its name, its label (its classes and the names above it) and the
    classes it drives."""
    return [search_entry(c.name, f"concepts/{c.name}.html",
                  words_of([c.name, *label_texts(c.words), *(d.name for d in c.classes or [])]),
                  c.words["label"] if c.words and c.words["labelled"] else "") for c in record.concepts]


def _trust_line(concept: ConceptRecord) -> str:
    if concept.trust is None:
        return ""
    path = concept.path_score
    choice = concept.choice_pictures
    return (f"<p>path score {'-' if path is None else f'{path:.2f}'} &middot; choice "
            f"{'-' if choice is None else f'{choice:.2f}'} &middot; {escape(concept.trust['verdict']['verdict'])}</p>")


def _concept_page(record: ConceptsRecord, concept: ConceptRecord, page_dir: Path) -> str:
    """Concept ``concept``'s page, written into ``page_dir``."""
    name, count = concept.name, len(record.concepts)
    i = concept.index
    nav = ("<nav><a href=\"../index.html\">all concepts</a>"
           + (f"<a href=\"c{i - 1:03d}.html\">previous</a>" if i > 0 else "")
           + (f"<a href=\"c{i + 1:03d}.html\">next</a>" if i + 1 < count else "") + "</nav>")
    classes = "".join(f"<tr><td>{escape(c.name)}</td><td>{c.logit_fall:+.3f}</td></tr>"
                      for c in concept.classes or [])
    importance = "".join(f"<tr><td>{escape(entry.name)}</td><td>{entry.sobol_total[i]:.3f}</td>"
                         f"<td>{entry.order.index(i) + 1} of {count}</td></tr>"
                         for entry in record.classes if entry.sobol_total and entry.order is not None)
    files = ", ".join(escape(p.file) for p in concept.photos)
    body = (f"{nav}<h1>{escape(record.model)} &middot; {escape(record.layer)} &middot; "
            f"concept {name}</h1><div class=\"unit\"><figure><img class=\"big\" src=\"{name}.png\" "
            f"alt=\"picture of {name}\"><figcaption>its direction, rendered (activation {concept.activation:.3f})"
            f"</figcaption></figure><figure><img class=\"big\" src=\"{name}.importance.png\" alt=\"importance map\">"
            f"<figcaption>where the objective looked</figcaption></figure></div>"
            f"<p>active at {concept.frequency:.1%} of the held-out positions; {concept.energy:.1%} of the "
            f"codes' energy</p><h2>Top photos</h2>"
            + (f"<div class=\"strip\"><img src=\"{name}.photos.png\" alt=\"top photos of {name}\"></div><p>{files}</p>"
               if concept.photos else "<p>never active on the photos</p>")
            + (words_section(concept.words) if concept.words else "")
            + (circuit_section(concept.circuit, set(), page_dir) if concept.circuit else "")
            + (trust_note(record.trust if isinstance(record.trust, dict) else None) + trust_section(name, concept.trust)
               if concept.trust is not None else "")
            + (f"<h2>Classes it drives most</h2><p>The mean fall of each class's logit over held-out photos when "
               f"the concept is removed from the layer.</p><table>{classes}</table>" if classes else "")
            + (f"<h2>Importance for the classes asked</h2><table><tr><th>class</th><th>Sobol total index</th>"
               f"<th>rank</th></tr>{importance}</table>" if importance else ""))
    return page(f"{record.model} {record.layer} concept {name}", body)


def write_concepts_pages(out: Path, record: ConceptsRecord) -> Path:
    """index.html and concepts/cNNN.html of a finished run; returns the index."""
    cards = "".join(_card(c, "concepts/") for c in record.concepts)
    body = (f"<style>{STYLE}</style><h1>{escape(record.model)} &middot; {len(record.concepts)} concepts of "
            f"{escape(record.layer)} ({escape(record.method)})</h1>"
            f"<p>Learned from {record.training_vectors} activation vectors of {record.photos_read} photos; "
            f"measured on every position of the {record.held_out_photos} held-out photos. Explained variance is "
            f"1 - sum_d Var(x_d - x_hat_d) / sum_d Var(x_d). The pictures render each concept's direction (recipe "
            f"{escape(record.settings['recipe']['name'])}); the photos are cut to the layer's receptive field around the "
            f"concept's peak, dimmed where its code is low.</p>{_measures_table(record)}{_classes_section(record)}"
            f"{search_box(_search_entries(record), 'search concepts, labels, classes (c012, dog, tabby)')}"
            f"<h2>Concepts</h2><div class=\"bar\">sort by <select id=\"sort\" aria-label=\"sort by\">"
            f"<option value=\"index\">number</option><option value=\"frequency\">frequency</option>"
            f"<option value=\"energy\">energy</option><option value=\"activation\">picture activation</option>"
            f"</select></div><div class=\"cards\" id=\"cards\">{cards}</div><script>{SORT_SCRIPT}</script>"
            f"<script type=\"application/json\" id=\"record\">{json.dumps({'measures': record.measures.to_json()})}</script>")
    for concept in record.concepts:
        write_text(out / "concepts" / f"{concept.name}.html", _concept_page(record, concept, (out / "concepts").resolve()))
    index = out / "index.html"
    write_text(index, page(f"{record.model} concepts of {record.layer}", body))
    return index
