"""The labels page (``index.html`` of a labels folder): the rule, where the classes came from,
each unit's label with its AUC and p-value, and a search box over labels and class names."""
from __future__ import annotations

from html import escape
from pathlib import Path

from convscope.methods.labels.result import RULE, SOURCES, Labels
from convscope.pages.page import page, write_text
from convscope.pages.search_box import entry, search_box


def render_labels(labels: Labels) -> str:
    """The page's HTML."""
    rows = "".join(
        f'<tr id="u{u.unit}"><td>{labels.layer}:{u.unit}</td><td>{escape(u.label)}</td>'
        f"<td>{escape(u.best)}</td><td>{u.auc:.3f}</td><td>{u.p_value:.4f}</td>"
        f"<td>{escape(', '.join(u.classes[:6]) + (' ...' if len(u.classes) > 6 else ''))}</td></tr>"
        for u in labels.units)
    entries = [entry(f"{labels.layer}:{u.unit}", f"#u{u.unit}", u.search_words(labels.layer),
                     f"{u.label} (AUC {u.auc:.2f})") for u in labels.units]
    body = (f"<h1>{escape(labels.model)} {escape(labels.layer)}: labels</h1>"
            f"<p>{escape(RULE)}</p>"
            f"<p>Classes from {escape(SOURCES[labels.source])}: {labels.classes} classes over {labels.photos} photos; "
            f"{labels.tried} labels tried per unit, {labels.settings['permutations']} shuffles. "
            f"{sum(u.labelled for u in labels.units)} of {len(labels.units)} units have a label.</p>"
            + search_box(entries, "search labels, classes or units (dog, block8:12)")
            + "<table><tr><th>unit</th><th>label</th><th>best candidate</th><th>AUC</th><th>p</th>"
              f"<th>its classes</th></tr>{rows}</table>")
    return page(f"{labels.model} {labels.layer} labels", body)


def write_labels_page(out: Path, labels: Labels) -> Path:
    """Writes ``out/index.html``; returns its path."""
    path = out / "index.html"
    write_text(path, render_labels(labels))
    return path
