"""Labels on the atlas's pages: a unit's label in words (or "no label") with its score and the
rule, the index's note on them, and the entries of the index's search box."""
from __future__ import annotations

from html import escape
from urllib.parse import quote

from convscope.data.atlas_folder import safe_name, unit_stem
from convscope.data.atlas_record import AtlasRecord
from convscope.methods.labels.result import RULE, SOURCES, words_of
from convscope.pages.search_box import SearchEntry, entry


def words_section(words: dict) -> str:
    """A unit's label, its AUC and p-value, its classes and where they came from, and the rule."""
    classes = ", ".join(words["classes"][:12]) + (" ..." if len(words["classes"]) > 12 else "")
    if words["labelled"]:
        head = (f"<p><b>{escape(words['label'])}</b>: AUC {words['auc']:.3f}, p {words['p_value']:.4f}; "
                f"its classes: {escape(classes)}.</p>")
    else:
        head = (f"<p><b>no label</b>. The best candidate, {escape(words['best'])} ({escape(classes)}), reached AUC "
                f"{words['auc']:.3f} at p {words['p_value']:.4f}.</p>")
    return (f"<h2>In words</h2>{head}<p>Classes from {escape(SOURCES[words['source']])}. "
            f"{escape(RULE)}</p>")


def labels_note(atlas: AtlasRecord) -> str:
    """The index's sentence on the labels: how many units have one, and where the classes came from."""
    units = [u for layer in atlas.layers for u in layer.units if u.words]
    if not units:
        return ""
    source = SOURCES[units[0].words["source"]] if units[0].words else ""
    held = sum(bool(u.words and u.words["labelled"]) for u in units)
    return (f"<p>Labels: {held} of {len(units)} units have one (classes from {escape(source)}); a unit's page says "
            "how it was chosen and scored, and why a unit has none.</p>")


def label_texts(words: dict | None) -> list[str]:
    """What a unit's or concept's label makes it found by: the label, its classes and the names
    above it (nothing without a label)."""
    if not words or not words["labelled"]:
        return []
    return [words["label"], *words["classes"], *words.get("broader", [])]


def search_entries(atlas: AtlasRecord) -> list[SearchEntry]:
    """Every unit of the atlas, found by its name, its label and the label's classes and broader
    names, its class (a unit of the logits) and the classes it drives."""
    entries = []
    for layer in atlas.layers:
        for u in layer.units:
            texts = [f"{u.layer}:{u.channel}", *label_texts(u.words), *([u.class_name] if u.class_name else []),
                     *(d.name for d in u.drives or [])]
            note = u.words["label"] if u.words and u.words["labelled"] else (u.class_name or "")
            href = f"units/{quote(safe_name(u.layer))}/{unit_stem(u.channel)}.html"
            entries.append(entry(u.label, href, words_of(texts), note))
    return entries
