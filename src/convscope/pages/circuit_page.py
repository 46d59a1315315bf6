"""The static page of a circuit: the target with its picture and how much its strongest inputs
explain (said plainly when they do not: "not a small circuit"), the inputs with their pictures,
attributions, signs and where they act, the ablation curves, what the target feeds, and with
depth, the graph of every node. It opens from disk and loads nothing from the network; every
name from the model or the photos is escaped."""
from __future__ import annotations

import math
import re
from html import escape
from pathlib import Path

from convscope.data.atlas_folder import safe_name
from convscope.io.line_plot import line_plot
from convscope.methods.circuits.result import DEFINITIONS, Circuit, CircuitNode
from convscope.pages.circuit_graph import graph_picture, graph_svg
from convscope.pages.page import page, write_text

GRAPH_FILE = "graph.png"
STYLE = """
.inputs{display:flex;gap:10px;flex-wrap:wrap} .inputs figure{margin:0;width:132px}
.inputs img{display:block} figcaption{font-size:12px;color:#aaa}
.excites{color:#f97} .inhibits{color:#8bf} .verdict{font-size:1.1em} .warn{color:#fc6}
svg text{fill:#ccc;font-size:11px;font-family:system-ui,sans-serif}
"""


def picture_file(key: str) -> str:
    """The file of a node's picture in the folder: pictures/LAYER_UNIT.png, pictures/FOLDER_c012.png
    for a concept (target.png for an objective)."""
    layer, _, unit = key.rpartition(":")
    return f"pictures/{safe_name(layer)}_{unit}.png" if layer and re.fullmatch(r"c?\d+", unit) else "pictures/target.png"


def where_file(node: CircuitNode, unit: int) -> str:
    return (f"where/{safe_name(node.input_key(unit).replace(':', '_'))}-to-"
            f"{safe_name(node.key.replace(':', '_'))}.png")


def ablation_file(node: CircuitNode) -> str:
    return f"ablation/{safe_name(node.key.replace(':', '_'))}.png"


def _anchor(key: str) -> str:
    return "node-" + safe_name(key.replace(":", "-"))


def _img(circuit: Circuit, key: str, px: int) -> str:
    if key not in circuit.pictures:
        return ""
    return f"<img src=\"{escape(picture_file(key))}\" width=\"{px}\" height=\"{px}\" alt=\"{escape(key)}\">"


def _node_section(circuit: Circuit, node: CircuitNode, expanded: set[str]) -> str:
    top = circuit.settings["top"]
    a = node.ablation
    warn = "" if node.small_circuit else " class=\"warn\""
    figures = []
    for i in node.inputs:
        key = node.input_key(i.unit)
        name = f"<a href=\"#{_anchor(key)}\">{escape(key)}</a>" if key in expanded else escape(key)
        where = (f"<img src=\"{escape(where_file(node, i.unit))}\" width=\"64\" height=\"64\" alt=\"where {escape(key)} "
                 "acts\">" if i.where is not None else "")
        figures.append(f"<figure>{_img(circuit, key, 128)}{where}<figcaption>{name}<br>attribution "
                       f"{i.attribution:+.4f}<br><span class=\"{i.sign}\">{i.sign}</span></figcaption></figure>")
    return (f"<section id=\"{_anchor(node.key)}\"><h2>{escape(node.label)} (depth {node.depth})</h2>"
            f"<div class=\"unit\">{_img(circuit, node.key, 192)}<div>"
            f"<p{warn}><b>{escape(node.verdict(top).capitalize())}.</b></p>"
            f"<p>On its {len(node.photos)} top photos the target is {node.target:.3f}; over the whole folder, "
            f"{a.usual:.3f}; with all of {escape(node.input_layer)} at its baseline, {node.at_baseline:.3f}. "
            f"Completeness error of the attributions: {node.completeness_error:.4f}."
            + (f" What the concepts do not code (the rest of the layer) adds {node.rest:+.4f} to the attributions' "
               "sum." if node.concepts else "") + "</p>"
            f"<p>Ablated in the attribution's order, the top {top} take away {a.top_share:.0%} (area {a.area:.2f}); "
            f"in {len(a.random_shares)} random orders, {a.random_mean[-1]:.0%} (area {a.random_area:.2f}).</p>"
            f"<img src=\"{escape(ablation_file(node))}\" alt=\"ablation curves\"></div></div>"
            f"<h3>Built from {escape(node.inputs_named)}</h3><div class=\"inputs\">{''.join(figures)}</div>"
            f"<p>Top photos: {escape(', '.join(node.photos))}</p></section>")


def _feeds_section(circuit: Circuit) -> str:
    feeds = circuit.feeds
    if feeds is None:
        return ""
    units = "".join(f"<figure>{_img(circuit, str(feeds.layer) + ':' + str(u['unit']), 96)}<figcaption>"
                    f"{escape(str(feeds.layer))}:{u['unit']}<br>{'drives' if u['drop'] >= 0 else 'suppresses'} "
                    f"{u['drop']:+.3f} ({u['share']:+.0%})</figcaption></figure>" for u in feeds.units)
    classes = "".join(f"<tr><td>{c['index']}</td><td>{escape(c['name'])}</td><td>{c['drop']:+.4f}</td></tr>"
                      for c in feeds.classes)
    return (f"<h2>Feeds</h2><p>What falls when {escape(circuit.root_node.label)} is set to its baseline on its top "
            f"photos: the mean of the units of {escape(str(feeds.layer))}, and the logits.</p>"
            f"<div class=\"inputs\">{units}</div>"
            + (f"<table><tr><th>class</th><th>name</th><th>logit drop</th></tr>{classes}</table>" if classes else ""))


def _graph(circuit: Circuit) -> str:
    files = {key: picture_file(key) for key in circuit.pictures}
    anchors = {node.key: _anchor(node.key) for node in circuit.nodes}
    return (f"<h2>The graph</h2><p>Rows are layers, the target on top. Each line is an attribution: "
            f"<span class=\"excites\">orange</span> raises the node above, <span class=\"inhibits\">blue</span> lowers "
            f"it, thicker is stronger among the inputs of one node (also as <a href=\"{GRAPH_FILE}\">a picture</a>).</p>"
            + graph_svg(circuit, files, anchors))


def write_circuit_page(out: Path, circuit: Circuit) -> Path:
    """Writes the pictures, the where-maps, the ablation plots and index.html into ``out``;
    returns the page's path."""
    for key, picture in circuit.pictures.items():
        picture.save(out / picture_file(key))
    top = circuit.settings["top"]
    for node in circuit.nodes:
        for i in node.inputs:
            if i.where is not None:
                i.where.save(out / where_file(node, i.unit))
        a = node.ablation
        plot = line_plot({"attribution order": [0.0, *a.shares], f"random ({len(a.random_shares)})": [0.0, *a.random_mean]},
                         [str(k) for k in range(top + 1)], title="share lost after k inputs ablated",
                         low=math.floor(min(0.0, *a.shares, *a.random_mean) * 4) / 4,
                         high=math.ceil(max(1.0, *a.shares) * 4) / 4)
        plot.save(out / ablation_file(node))
    if len(circuit.nodes) > 1:
        graph_picture(circuit).save(out / GRAPH_FILE)
    expanded = {n.key for n in circuit.nodes}
    definitions = "".join(f"<li><b>{escape(name)}</b>: {escape(text)}</li>" for name, text in DEFINITIONS.items())
    body = (f"<style>{STYLE}</style><h1>{escape(circuit.model)} &middot; {escape(circuit.root_node.label)}</h1>"
            f"<p class=\"verdict\">{escape(circuit.root_node.verdict(top).capitalize())}.</p>"
            + (_graph(circuit) if len(circuit.nodes) > 1 else "")
            + "".join(_node_section(circuit, node, expanded) for node in circuit.nodes)
            + _feeds_section(circuit)
            + f"<h2>Definitions</h2><p>Method: {escape(circuit.method)}.</p><ul>{definitions}</ul>")
    index = out / "index.html"
    write_text(index, page(f"{circuit.model} {circuit.root_node.label}: circuit", body))
    return index
