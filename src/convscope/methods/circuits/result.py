"""A circuit as a result: each node explained (its inputs, their attribution and where they act,
the ablation curves), what the root feeds, and a picture of every node; with its JSON and its
view in Jupyter."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from convscope.io.notebook import fields_html, picture_html, table_html
from convscope.io.picture import Picture
from convscope.methods.circuits.ablation import SMALL_CIRCUIT_SHARE, Ablation
from convscope.methods.circuits.feeds import Feeds
from convscope.methods.concepts.folder import concept_name

DEFINITIONS = {
    "attribution": "integrated gradients from the baseline (the photo folder's mean activation of each input "
                   "channel): sum over positions of (input - baseline) x the gradient of the target averaged over the "
                   "straight path, averaged over the target's top photos; the attributions add up to target - target "
                   "at the baseline",
    "gradient-x-activation": "the gradient of the target at the photo times (input - baseline), summed over positions "
                             "and averaged over the top photos: one gradient, no exact sum",
    "completeness_error": "|sum of attributions - (target - target at the baseline)| / |target - target at the baseline|",
    "sign": "excites when raising the input raises the target (the mean gradient is positive), inhibits otherwise",
    "share": "of what makes the top photos excite the target: (target - target after ablation) / (target - its "
             "usual value), the usual value being its mean over every photo of the folder; the ablated inputs are set "
             "to their baseline",
    "area": "the mean share lost over k = 1..top ablated inputs",
}


@dataclass
class CircuitInput:
    """One input of a node: its unit, attribution, the sign of its edge, and where it acts."""

    unit: int
    attribution: float
    gradient: float
    where: Picture | None = None

    @property
    def sign(self) -> str:
        return "excites" if self.gradient >= 0 else "inhibits"

    def to_json(self) -> dict:
        return {"unit": self.unit, "attribution": self.attribution, "gradient": self.gradient, "sign": self.sign}


@dataclass
class CircuitNode:
    """A node explained by the units of ``input_layer`` (or by the concepts of the folder named
    ``concepts``, learned on it) on its top ``photos``: its ``inputs`` are the strongest by
    attribution (the ablation's order), then those that hold it down most (negative
    attribution); ``rest`` is the attribution of what the concepts do not code (0 for units)."""

    key: str
    label: str
    input_layer: str
    depth: int
    photos: list[str]
    target: float
    at_baseline: float
    completeness_error: float
    inputs: list[CircuitInput]
    ablation: Ablation
    concepts: str | None = None
    rest: float = 0.0

    def input_key(self, unit: int) -> str:
        """An input's name: ``layer:unit``, or a concept's ``folder:c012``."""
        return f"{self.concepts}:{concept_name(unit)}" if self.concepts is not None else f"{self.input_layer}:{unit}"

    @property
    def inputs_named(self) -> str:
        """What the inputs are: the layer, or its concepts."""
        return f"the concepts {self.concepts} of {self.input_layer}" if self.concepts else self.input_layer

    @property
    def small_circuit(self) -> bool:
        return self.ablation.small_circuit

    def verdict(self, top: int) -> str:
        """One sentence on how much the top inputs explain."""
        share = self.ablation.top_share
        if self.small_circuit:
            return (f"its top {top} inputs explain {share:.0%} of it (random {top}: "
                    f"{self.ablation.random_mean[-1]:.0%})")
        return (f"this unit is not a small circuit: its top {top} inputs of {self.inputs_named} explain only "
                f"{share:.0%} of it (less than {SMALL_CIRCUIT_SHARE:.0%})")

    def to_json(self) -> dict:
        a = self.ablation
        return {"key": self.key, "label": self.label, "input_layer": self.input_layer, "input_concepts": self.concepts,
                "concepts_rest": self.rest, "depth": self.depth,
                "photos": self.photos, "target": self.target, "target_usual": self.ablation.usual,
                "target_at_baseline": self.at_baseline,
                "completeness_error": self.completeness_error,
                "inputs": [{"name": self.input_key(i.unit), **i.to_json()} for i in self.inputs],
                "ablation": {"order": a.order, "shares": a.shares, "area": a.area, "random_shares": a.random_shares,
                             "random_mean": a.random_mean, "random_area": a.random_area, "top_share": a.top_share,
                             "small_circuit": a.small_circuit}}


@dataclass
class Circuit:
    """How a target is built from the layers before it: the root node and, with depth, the nodes
    of its strongest inputs; the edges between them; what the root feeds; the pictures."""

    model: str
    root: str
    method: str
    settings: dict
    nodes: list[CircuitNode]
    feeds: Feeds | None
    pictures: dict[str, Picture] = field(default_factory=dict)
    photos_read: int = 0
    seconds: dict[str, float] = field(default_factory=dict)  # per part: photo_pass, attribution, ablation, feeds, pictures

    @property
    def root_node(self) -> CircuitNode:
        return self.nodes[0]

    @property
    def edges(self) -> list[dict]:
        """Every edge of the graph: from an input unit to the node it builds, with its attribution and sign."""
        return [{"from": n.input_key(i.unit), "to": n.key, "attribution": i.attribution, "sign": i.sign}
                for n in self.nodes for i in n.inputs]

    def to_json(self) -> dict[str, Any]:
        """Everything measured, as JSON values."""
        feeds = None if self.feeds is None else {"layer": self.feeds.layer, "units": self.feeds.units,
                                                 "classes": self.feeds.classes}
        return {"model": self.model, "root": self.root, "method": self.method, "settings": self.settings,
                "photos_read": self.photos_read, "definitions": DEFINITIONS,
                "nodes": [n.to_json() for n in self.nodes], "edges": self.edges, "feeds": feeds,
                "seconds": self.seconds}

    def _repr_html_(self) -> str:
        root = self.root_node
        rows = [{"input": f"{root.input_layer}:{i.unit}", "attribution": round(i.attribution, 4), "sign": i.sign}
                for i in root.inputs]
        head = picture_html(self.pictures[root.key], 160) if root.key in self.pictures else ""
        summary = fields_html(f"{self.model} {root.label}", {
            "built from": root.input_layer, "method": self.method, "photos": len(root.photos),
            "completeness error": f"{root.completeness_error:.4f}",
            "explained": root.verdict(self.settings["top"]), "nodes": len(self.nodes)})
        return head + summary + table_html(f"the strongest inputs of {root.label}", rows)
