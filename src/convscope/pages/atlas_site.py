"""The static site: index.html with every layer's grid of units, one page per unit.

Everything from a model (layer names, class names, photo names) is escaped; the pages
use relative links only, so the site works opened from disk with nothing fetched.
"""
from __future__ import annotations

import os
from html import escape
from pathlib import Path
from urllib.parse import quote

from convscope.data.atlas_folder import safe_name, unit_stem
from convscope.data.atlas_record import AtlasRecord, UnitRecord
from convscope.pages.labels_section import labels_note, search_entries, words_section
from convscope.pages.page import page, write_text
from convscope.pages.search_box import search_box
from convscope.pages.trust_section import trust_note, trust_section


def unit_href(layer: str, channel: int, base: str = "units/") -> str:
    """The link to a unit's page from a page whose path to the ``units/`` folder is ``base``
    ("units/" from the index, "../" from a unit page, which sits in units/LAYER/)."""
    return f"{base}{quote(safe_name(layer))}/{unit_stem(channel)}.html"


def fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def units_text(rendered: int, channels: int) -> str:
    """A layer's unit count, or 'k of n rendered' for a layer the atlas holds in part."""
    return str(channels) if rendered == channels else f"{rendered} of {channels} rendered"


def verdicts_text(verdicts: dict | None) -> str:
    """A layer's verdict counts as 'shows / does not / cannot say', or a dash without trust."""
    return "-" if not verdicts else " / ".join(str(count) for count in verdicts.values())


def render_index(atlas: AtlasRecord) -> str:
    """The index page: the settings, the layers' table, and each layer's grid of units."""
    config = atlas.config
    parts = [f"<h1>{escape(atlas.model)}</h1>",
             f"<p>{escape(atlas.description)}</p>",
             f"<p>Recipe {escape(config['recipe']['name'])}, "
             f"{config['recipe']['steps']} steps at {config['recipe']['size']} px, "
             f"seed {config['seed']}; {atlas.photos} photos for the statistics.</p>",
             "<p>Ratio: the activation a unit's picture reaches over the best it reaches on a photo.</p>",
             trust_note(config.get("trust")),
             labels_note(atlas),
             search_box(search_entries(atlas), "search units, labels, classes (block8:12, dog, tabby)"),
             "<h2>Layers</h2><table><tr><th>layer</th><th>kind</th><th>units</th><th>read</th>"
             "<th>median ratio</th><th>after the activation</th><th>median path score</th>"
             "<th>median choice (picture)</th><th>verdicts: shows / does not / cannot say</th>"
             "<th>units with a label</th></tr>"]
    for layer in atlas.layers:
        anchor = quote(safe_name(layer.name))
        parts.append(f"<tr><td><a href=\"#{anchor}\">{escape(layer.name)}</a></td>"
                     f"<td>{escape(layer.kind)}</td><td>{units_text(len(layer.units), layer.channels)}</td>"
                     f"<td>{escape(layer.read or 'as output')}</td>"
                     f"<td>{fmt(layer.median_ratio, 2)}</td><td>{fmt(layer.median_ratio_after, 2)}</td>"
                     f"<td>{fmt(layer.median_path_score, 2)}</td>"
                     f"<td>{fmt(layer.median_choice_pictures, 2)}</td><td>{verdicts_text(layer.verdicts)}</td>"
                     f"<td>{'-' if layer.labelled is None else layer.labelled}</td></tr>")
    parts.append("</table>")
    for layer in atlas.layers:
        parts.append(f"<h2 id=\"{quote(safe_name(layer.name))}\">{escape(layer.name)}</h2><div class=\"grid\">")
        for rec in layer.units:
            thumb = f"units/{quote(safe_name(rec.layer))}/{unit_stem(rec.channel)}.thumb.png"
            title = f"{rec.label}, activation {fmt(rec.activation)}, ratio {fmt(rec.ratio, 2)}" + \
                (f", verdict: {rec.verdict}" if rec.verdict else "") + \
                (f", label: {rec.words['label']}" if rec.words and rec.words["labelled"] else "")
            parts.append(f"<a href=\"{unit_href(rec.layer, rec.channel)}\" title=\"{escape(title)}\">"
                         f"<img src=\"{thumb}\" loading=\"lazy\" width=\"64\" height=\"64\" alt=\"{escape(title)}\">"
                         f"<span>{rec.channel}</span></a>")
        parts.append("</div>")
    return page(f"{atlas.model} atlas", "\n".join(parts))


def render_unit(atlas: AtlasRecord, record: UnitRecord, previous: UnitRecord | None,
                following: UnitRecord | None) -> str:
    """A unit's page: its pictures, numbers, trust, top photos, exemplars and the classes it drives."""
    stem = unit_stem(record.channel)
    nav = [f"<a href=\"../../index.html#{quote(safe_name(record.layer))}\">index</a>"]
    if previous:
        nav.append(f"<a href=\"{unit_href(previous.layer, previous.channel, '../')}\">&larr; "
                   f"{escape(previous.label)}</a>")
    if following:
        nav.append(f"<a href=\"{unit_href(following.layer, following.channel, '../')}\">"
                   f"{escape(following.label)} &rarr;</a>")
    after = record.after
    before = f" (before {escape(after)})" if after else ""
    rows = [("objective", escape(record.objective or f"{record.layer}:{record.channel}")),
            (f"activation of the picture{before}", fmt(record.activation)),
            (f"best activation on a photo{before}", fmt(record.photo_max)),
            (f"ratio{before}", fmt(record.ratio, 2))]
    if after:
        rows += [(f"ratio after {escape(after)}", fmt(record.ratio_after, 2))]
    figures = [f"<figure><img class=\"big\" src=\"{stem}.png\" width=\"256\" height=\"256\" "
               f"alt=\"{escape(record.label)}\"><figcaption>its picture</figcaption></figure>"]
    if record.importance:
        share = record.importance["centre_share"]
        figures.append(f"<figure><img class=\"big checker\" src=\"{stem}.alpha.png\" width=\"256\" height=\"256\" "
                       f"alt=\"{escape(record.label)} with its importance map\"><figcaption>where it looks "
                       f"(importance as transparency; {share:.0%} in the centre quarter)</figcaption></figure>")
    if record.kernel:
        figures.append(f"<figure><img class=\"big\" src=\"{stem}.kernel.png\" width=\"256\" height=\"256\" "
                       f"alt=\"kernel of {escape(record.label)}\"><figcaption>its kernel, enlarged "
                       "(gray is 0)</figcaption></figure>")
    body = [f"<nav>{''.join(nav)}</nav>", f"<h1>{escape(atlas.model)} &middot; {escape(record.label)}</h1>",
            f"<div class=\"unit\">{''.join(figures)}</div>",
            "<table>" + "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows) + "</table>"]
    if record.words:
        body.append(words_section(record.words))
    if record.trust:
        body.append(trust_section(stem, record.trust))
    if record.top_photos:
        body.append("<h2>Photos that excite it most</h2><div class=\"crops\">")
        for i, top in enumerate(record.top_photos, start=1):
            label = f"{top.photo}: peak {fmt(top.peak)}"
            body.append(f"<figure><img src=\"{stem}.top{i}.png\" width=\"96\" height=\"96\" "
                        f"alt=\"{escape(label)}\"><figcaption>{escape(label)}</figcaption></figure>")
        body.append("</div>")
    if record.exemplars:
        ex = record.exemplars
        files = ", ".join(f"{top.file} ({fmt(top.peak)})" for top in ex.photos)
        body.append(f"<h2>Dataset examples</h2><figure><img src=\"{stem}.exemplars.png\" "
                    f"alt=\"the {len(ex.photos)} photos of the dataset that excite it most\">"
                    f"<figcaption>the top of {ex.dataset_photos} photos by peak, cropped to the unit's receptive "
                    f"field around it: {escape(files)}; best mean {fmt(ex.best_mean)}, mean over the dataset "
                    f"{fmt(ex.mean)}</figcaption></figure>")
    if record.circuit:
        body.append(circuit_section(record.circuit, {layer.name for layer in atlas.layers}))
    if record.drives:
        body.append("<h2>Classes it drives most</h2><table>" + "".join(
            f"<tr><td>{d.index}</td><td>{escape(d.name)}</td><td>{fmt(d.drive, 4)}</td></tr>"
            for d in record.drives) + "</table>")
    return page(f"{atlas.model} {record.label}", "\n".join(body))


def _linked_unit(layer: str, unit: int, shown: set[str], caption: str) -> str:
    """A unit's thumbnail and caption, linked to its page where the atlas has its layer."""
    label = f"{escape(layer)}:{unit}"
    if layer not in shown:
        return f"<figure><figcaption>{label}<br>{caption}</figcaption></figure>"
    thumb = f"../{quote(safe_name(layer))}/{unit_stem(unit)}.thumb.png"
    return (f"<figure><a href=\"{unit_href(layer, unit, '../')}\"><img src=\"{thumb}\" width=\"96\" height=\"96\" "
            f"alt=\"{label}\"></a><figcaption>{label}<br>{caption}</figcaption></figure>")


def _linked_concept(folder: str, name: str, page_dir: Path, caption: str) -> str:
    """A concept of another concepts folder: its picture and caption, linked to its page (relative
    to ``page_dir``, the folder of the page that shows it)."""
    target = Path(folder) / "concepts"
    picture = quote(Path(os.path.relpath(target / f"{name}.png", page_dir)).as_posix())
    href = quote(Path(os.path.relpath(target / f"{name}.html", page_dir)).as_posix())
    label = f"{escape(Path(folder).name)}:{escape(name)}"
    return (f"<figure><a href=\"{href}\"><img src=\"{picture}\" width=\"96\" height=\"96\" alt=\"{label}\"></a>"
            f"<figcaption>{label}<br>{caption}</figcaption></figure>")


def circuit_section(circuit: dict, shown: set[str], page_dir: Path | None = None) -> str:
    """"Built from" and "feeds" on a unit or concept page (see ``methods.circuits.unit_summary``);
    inputs that are concepts of another folder are linked relative to ``page_dir``."""
    source = circuit["input_layer"]
    folder = circuit.get("input_concepts")
    if folder is not None and page_dir is not None:
        inputs = "".join(_linked_concept(folder, i["name"], page_dir, f"{i['attribution']:+.3f}, {i['sign']}")
                         for i in circuit["inputs"])
        source = f"the concepts {Path(folder).name} of {source}"
    else:
        inputs = "".join(_linked_unit(source, i["unit"], shown, f"{i['attribution']:+.3f}, {i['sign']}")
                         for i in circuit["inputs"])
    share, chance = circuit["top_share"], circuit["random_share"]
    verdict = (f"its top 8 inputs explain {share:.0%} of it ({chance:.0%} for 8 random ones)" if share >= 0.5 else
               f"not a small circuit: its top 8 inputs explain only {share:.0%} of it ({chance:.0%} for 8 random ones)")
    parts = [f"<h2>Built from {escape(source)}</h2><p>Integrated gradients from the photos' mean, on its "
             f"{circuit['photos']} top photos (completeness error {circuit['completeness_error']:.4f}); set to that "
             f"mean together, {escape(verdict)}. Share: of its mean on its top photos above its mean over all "
             f"photos. <code>convscope circuit</code> gives the whole circuit.</p><div class=\"crops\">{inputs}</div>"]
    if circuit.get("feeds"):
        fed = "".join(_linked_unit(circuit["feeds_layer"], f["unit"], shown, f"falls {f['drop']:.3f}")
                      for f in circuit["feeds"])
        parts.append(f"<h2>Feeds</h2><p>The units of {escape(circuit['feeds_layer'])} that fall most when it is set to "
                     f"its mean on its top photos.</p><div class=\"crops\">{fed}</div>")
    if circuit.get("classes"):
        parts.append("<p>Classes that fall most: " + ", ".join(f"{escape(c['name'])} ({c['drop']:.3f})"
                                                              for c in circuit["classes"]) + "</p>")
    return "".join(parts)


def write_site(root: Path, atlas: AtlasRecord) -> None:
    """Writes index.html and every unit page (each whole or not at all)."""
    records = [rec for layer in atlas.layers for rec in layer.units]
    for i, rec in enumerate(records):
        previous = records[i - 1] if i > 0 else None
        following = records[i + 1] if i + 1 < len(records) else None
        path = root / "units" / safe_name(rec.layer) / f"{unit_stem(rec.channel)}.html"
        write_text(path, render_unit(atlas, rec, previous, following))
    write_text(root / "index.html", render_index(atlas))
