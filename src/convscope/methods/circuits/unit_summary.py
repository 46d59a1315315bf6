"""A unit's (or a concept's) circuit in brief, for the atlas's unit pages and the concept pages:
the units of the main layer before that build it (integrated gradients on its top photos), the
share its top inputs explain against as many random ones (each set ablated at once, not the
whole curve), and for a unit what it feeds. One photo pass per layer gives every unit's top
photos and the baselines."""
from __future__ import annotations

import torch

from convscope.data.photo_sources import PhotoSource
from convscope.data.photo_stats import PhotoStats, StatsPass, stats_pass
from convscope.engine.objectives import Objective, channel, direction
from convscope.methods.circuits.ablation import random_orders, shares_lost
from convscope.methods.circuits.attribution import attribute
from convscope.methods.circuits.concept_inputs import code_changes, code_columns, to_concepts
from convscope.methods.circuits.feeds import feeds_of, unit_feeds
from convscope.methods.circuits.replaced import Link
from convscope.methods.circuits.targets import input_layer_for
from convscope.methods.concepts.dictionary import ConceptDictionary
from convscope.methods.concepts.folder import ConceptFolder, concept_name
from convscope.models.base import VisionModel

SUMMARY_PHOTOS = 8  # top photos per unit
SUMMARY_STEPS = 8  # integrated gradients' steps (completeness error under 0.006 at block8 of efficientnet-lite0)
SUMMARY_TOP = 8  # inputs ablated together
SUMMARY_RANDOM = 10  # random sets of as many inputs
SHOWN = 4  # inputs and fed units on the page


def as_used_mean(model: VisionModel, stats: PhotoStats, layer: str) -> torch.Tensor:
    """(C,): each channel's mean over the photos, as the network uses it (after its activation)."""
    source = stats.after if model.layer(layer).after is not None and stats.after is not None else stats.read
    return source.running_mean


def brief_inputs(model: VisionModel, objective: Objective, input_layer: str, images: torch.Tensor,
                 baseline: torch.Tensor, usual: float, seed: int,
                 concepts: ConceptFolder | None = None) -> tuple[dict, dict[str, torch.Tensor]]:
    """The strongest inputs of ``objective`` among the units of ``input_layer`` (or the concepts
    of ``concepts``, learned on it) on ``images`` (its top photos), and the shares its top
    SUMMARY_TOP inputs and as many random ones explain.

    Args:
        model: the network.
        objective: the target (one value per photo).
        input_layer: the layer whose units build it.
        images: its top photos, (P, 3, S, S) in [0, 1].
        baseline: (C,) the input layer's mean over the folder.
        usual: the target's mean over the folder.
        seed: the random sets' seed.
        concepts: the input layer's concepts, as the inputs in place of its units.
    Returns:
        The summary, and the photos' outputs of the input layer and the target's layers.
    """
    link = Link(model, objective, input_layer)
    acts = link.read(images)  # one pass gives the inputs, the target and the maps the feeds start from
    attribution = attribute(link, images, baseline, steps=SUMMARY_STEPS, batch=len(images) * SUMMARY_STEPS,
                            read=link.input_maps(acts))
    if concepts is not None:
        attribution = to_concepts(attribution, concepts)
    values = attribution.values
    order = values.argsort(descending=True)[:SUMMARY_TOP].tolist()
    shares = shares_lost(link, images, attribution,
                         [order, *random_orders(len(values), SUMMARY_RANDOM, len(order), seed)], usual)
    inputs = [{"unit": u, "attribution": float(values[u]), "sign": "excites" if attribution.gradient[u] >= 0
               else "inhibits", **({"name": concept_name(u)} if concepts is not None else {})} for u in order[:SHOWN]]
    summary: dict = {"input_layer": input_layer, "photos": len(images), "inputs": inputs, "top_share": shares[0],
                     "random_share": sum(shares[1:]) / SUMMARY_RANDOM,
                     "completeness_error": attribution.completeness_error}
    if concepts is not None:
        summary["input_concepts"] = str(concepts.root.resolve())
    return summary, acts


class UnitCircuits:
    """Measures the brief circuit of any unit of ``layer``; its settings go into the atlas's key."""

    settings = {"photos": SUMMARY_PHOTOS, "ig_steps": SUMMARY_STEPS, "top": SUMMARY_TOP, "random": SUMMARY_RANDOM}

    def __init__(self, model: VisionModel, layer: str, photos: PhotoSource, seed: int,
                 stats: dict[str, PhotoStats]) -> None:
        """``stats``: what ``photos`` make ``layer`` and the main layer before it do (the
        statistics ``stats_pass`` reads)."""
        self.model, self.photos, self.seed, self.stats = model, photos, seed, stats
        self.layer = model.layer(layer).name
        self.input_layer = model.earlier_main_layers(self.layer)[-1]

    @staticmethod
    def possible(model: VisionModel, layer: str) -> bool:
        """Whether ``layer`` has a main layer before it to be built from."""
        return bool(model.earlier_main_layers(layer))

    @staticmethod
    def stats_pass(model: VisionModel, layer: str) -> StatsPass:
        """The photo statistics the circuits of ``layer``'s units are measured with: its units'
        SUMMARY_PHOTOS best photos, and the usual values of the main layer before it."""
        name = model.layer(layer).name
        return stats_pass(model, [name, model.earlier_main_layers(name)[-1]], top=SUMMARY_PHOTOS)

    def measure(self, unit: int) -> dict:
        """The unit's inputs (the strongest by attribution, with their sign), the shares its top
        inputs and random ones explain, the completeness error, and the units and classes it feeds."""
        model, stats = self.model, self.stats[self.layer]
        indices = [int(p) for p in stats.read.mean_photos[unit] if int(p) >= 0]
        images = torch.cat([self.photos.image(model, p) for p in indices]).to(model.device)
        result, acts = brief_inputs(model, channel(self.layer, unit), self.input_layer, images,
                                    as_used_mean(model, self.stats[self.input_layer], self.input_layer),
                                    float(stats.read.running_mean[unit]), self.seed + unit)
        if self.layer != model.logits_layer:
            fed = unit_feeds(model, self.layer, unit, images, float(as_used_mean(model, stats, self.layer)[unit]),
                             SHOWN, model.layer(self.layer).as_used(acts[self.layer]))
            result["feeds_layer"] = fed.layer
            result["feeds"] = [{"unit": u["unit"], "drop": u["drop"]} for u in fed.units if u["drop"] > 0][:SHOWN]
            result["classes"] = [{"index": c["index"], "name": c["name"], "drop": c["drop"]} for c in fed.classes[:3]]
        return result


class ConceptCircuits:
    """Measures the brief circuit of any concept of a dictionary learned on ``layer``: its target is
    its direction (the objective its picture maximizes), its top photos those of highest mean code,
    its inputs the units of the main layer before, or the concepts of ``inputs`` (a concepts folder
    of an earlier layer)."""

    def __init__(self, model: VisionModel, layer: str, dictionary: ConceptDictionary, photos: PhotoSource, seed: int,
                 stats: dict[str, PhotoStats], inputs: ConceptFolder | None = None) -> None:
        """``stats``: what ``photos`` make the layers of ``stats_layers`` do (their usual values)."""
        self.model, self.photos, self.seed, self.inputs, self.stats = model, photos, seed, inputs, stats
        self.dictionary = dictionary.to(model.device)
        self.layer = model.layer(layer).name
        self.input_layer = input_layer_for(model, self.layer, inputs.layer if inputs is not None else None)

    @staticmethod
    def stats_layers(model: VisionModel, layer: str, inputs: ConceptFolder | None = None) -> list[str]:
        """The layers whose usual values over the photos the circuits of ``layer``'s concepts
        are measured with: ``layer``, and the one their inputs come from."""
        name = model.layer(layer).name
        return [name, input_layer_for(model, name, inputs.layer if inputs is not None else None)]

    def measure(self, concept: int, top_photos: list[int]) -> dict:
        """The concept's inputs (the strongest by attribution, with their sign), the shares its top
        inputs and random ones explain, the completeness error, and the units and classes it feeds
        (its code set to the baseline's at every position), on ``top_photos`` (indices)."""
        model, info = self.model, self.model.layer(self.layer)
        images = torch.cat([self.photos.image(model, p) for p in top_photos]).to(model.device)
        atom = self.dictionary.atoms[concept].float().cpu()
        usual = float(self.stats[self.layer].read.running_mean.float() @ atom)  # the direction reads the layer as read
        result, acts = brief_inputs(model, direction(self.layer, atom), self.input_layer, images,
                                    as_used_mean(model, self.stats[self.input_layer], self.input_layer), usual,
                                    self.seed + concept, self.inputs)
        maps = info.as_used(acts[self.layer]).float()
        if maps.dim() == 4:
            mean = as_used_mean(model, self.stats[self.layer], self.layer).float().to(maps.device)
            column = code_columns(self.dictionary)[concept].to(maps.device)
            change = code_changes(self.dictionary, maps, mean)[2][:, concept]
            fed = feeds_of(model, self.layer, images, maps, maps - change[:, None] * column.view(1, -1, 1, 1), SHOWN)
            result["feeds_layer"] = fed.layer
            result["feeds"] = [{"unit": u["unit"], "drop": u["drop"]} for u in fed.units if u["drop"] > 0][:SHOWN]
            result["classes"] = [{"index": c["index"], "name": c["name"], "drop": c["drop"]} for c in fed.classes[:3]]
        return result
