"""A circuit's graph, laid out once in rows by layer (the target on top, each layer of inputs below
the one it builds) and drawn twice: as SVG for the page and as a picture (graph.png) to share.
Each edge is an attribution: orange where the input raises the node above, blue where it lowers
it, thicker where it is stronger against the node's other inputs. So that a row stays readable,
a node brings into the graph its strongest inputs (those expanded, as many as ``expand``) and the
one that holds it down most; its section of the page lists all of them."""
from __future__ import annotations

from dataclasses import dataclass
from html import escape

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from convscope.io.picture import Picture
from convscope.methods.circuits.result import Circuit, CircuitInput, CircuitNode

NODE_PX, GAP_X, ROW_Y, MARGIN = 72, 24, 190, 20
RAISES, LOWERS = (255, 153, 119), (136, 187, 255)
BACKGROUND, TEXT = (17, 17, 17), (204, 204, 204)


def graph_inputs(node: CircuitNode, expand: int) -> list[CircuitInput]:
    """The inputs of ``node`` the graph draws: its first ``expand`` (the strongest, those a deeper
    circuit expands) and the one of most negative attribution."""
    lowest = min(node.inputs, key=lambda i: i.attribution)
    return [*node.inputs[:expand], *([lowest] if lowest.attribution < 0 else [])]


@dataclass
class GraphLayout:
    """Where each node's picture goes (its top-left corner), and the picture's size."""

    positions: dict[str, tuple[float, float]]
    width: float
    height: float

    def edges(self, circuit: Circuit) -> list[tuple[tuple[float, float], tuple[float, float], float, bool]]:
        """Per edge: where it starts (the input's top), where it ends (under the node's label),
        its width (0.5 to 5.5 px, by |attribution| over that of the node's strongest input drawn)
        and whether it raises the node."""
        expand = circuit.settings["expand"]
        lines = []
        for node in circuit.nodes:
            tx, ty = self.positions[node.key]
            drawn = graph_inputs(node, expand)
            strongest = max(abs(i.attribution) for i in drawn) or 1.0
            for i in drawn:
                sx, sy = self.positions[node.input_key(i.unit)]
                lines.append(((sx + NODE_PX / 2, sy), (tx + NODE_PX / 2, ty + NODE_PX + 14),
                              0.5 + 5 * abs(i.attribution) / strongest, i.attribution >= 0))
        return lines


def layout(circuit: Circuit) -> GraphLayout:
    """The nodes in rows: the target, then each layer of inputs, each row centred."""
    rows: dict[str, list[str]] = {circuit.root: [circuit.root]}
    seen = {circuit.root}
    for node in circuit.nodes:
        for i in graph_inputs(node, circuit.settings["expand"]):
            key = node.input_key(i.unit)
            if key not in seen:
                seen.add(key)
                rows.setdefault(node.input_layer, []).append(key)
    width = max(len(keys) for keys in rows.values()) * (NODE_PX + GAP_X) + GAP_X
    positions: dict[str, tuple[float, float]] = {}
    for r, keys in enumerate(rows.values()):
        offset = (width - len(keys) * (NODE_PX + GAP_X)) / 2
        for c, key in enumerate(keys):
            positions[key] = (offset + GAP_X / 2 + c * (NODE_PX + GAP_X), float(MARGIN + r * ROW_Y))
    return GraphLayout(positions, width, len(rows) * ROW_Y)


def short(key: str) -> str:
    return key if len(key) < 24 else key[:21] + "..."


def graph_svg(circuit: Circuit, picture_file: dict[str, str], anchor: dict[str, str]) -> str:
    """The graph as an SVG element that scales to the page; ``picture_file`` and ``anchor`` give
    each node's picture and the id of its section on the page."""
    shape = layout(circuit)
    lines = [f"<line x1=\"{a[0]:.0f}\" y1=\"{a[1]:.0f}\" x2=\"{b[0]:.0f}\" y2=\"{b[1]:.0f}\" "
             f"stroke=\"{'#f97' if raises else '#8bf'}\" stroke-opacity=\"0.8\" stroke-width=\"{w:.2f}\"/>"
             for a, b, w, raises in shape.edges(circuit)]
    nodes = []
    for key, (x, y) in shape.positions.items():
        image = (f"<image href=\"{escape(picture_file[key])}\" x=\"{x:.0f}\" y=\"{y:.0f}\" width=\"{NODE_PX}\" "
                 f"height=\"{NODE_PX}\"/>" if key in picture_file else "")
        text = f"<text x=\"{x:.0f}\" y=\"{y + NODE_PX + 12:.0f}\">{escape(short(key))}</text>"
        nodes.append(f"<a href=\"#{escape(anchor[key])}\">{image}{text}</a>" if key in anchor else image + text)
    return (f"<svg style=\"width:100%;max-width:{shape.width:.0f}px;height:auto\" viewBox=\"0 0 {shape.width:.0f} "
            f"{shape.height:.0f}\">{''.join(lines)}{''.join(nodes)}</svg>")


def graph_picture(circuit: Circuit) -> Picture:
    """The graph drawn as a picture, each node with its picture and name."""
    shape = layout(circuit)
    image = Image.new("RGB", (int(shape.width), int(shape.height)), BACKGROUND)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    for a, b, width, raises in shape.edges(circuit):
        draw.line([a, b], fill=RAISES if raises else LOWERS, width=max(1, round(width)))
    for key, (x, y) in shape.positions.items():
        if key in circuit.pictures:
            thumb = circuit.pictures[key].to_pil().resize((NODE_PX, NODE_PX), Image.Resampling.LANCZOS)
            image.paste(thumb, (int(x), int(y)))
        draw.text((x, y + NODE_PX + 2), short(key), fill=TEXT, font=font)
    return Picture(np.asarray(image))
