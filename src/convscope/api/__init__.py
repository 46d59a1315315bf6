"""The Python API, the one door to convscope for every front end: one function per command,
taking what a user has (a model or its name, objectives as text, recipes by name or as objects,
photos as paths, folders or arrays) and returning results that show themselves in Jupyter.

Each command's options are one spec (``FilterSpec``, ``ConceptsSpec``, ...): a function takes
them as keywords or as ``spec=``, builds the spec once and hands it whole to the part that does
the work. ``front_end`` holds what a front end needs around the commands (choices, inputs
checked, files written); the command line imports from here and nothing below it.
"""
from __future__ import annotations

from convscope.api.front_end import *  # noqa: F403  (the front ends' helpers, listed in its __all__)
from convscope.api.front_end import __all__ as _front_end
from convscope.api.layer_jobs import (
    ActivationAtlasSpec,
    AtlasSpec,
    ConceptsSpec,
    ExemplarsSpec,
    SpectrumSpec,
    StatsSpec,
    TrustSpec,
    TwinsSpec,
    activation_atlas,
    atlas,
    concepts,
    exemplars,
    layers,
    on_ray,
    spectrum,
    stats,
    trust,
    twins,
)
from convscope.methods.accentuation import AccentuateSpec, CaricatureSpec, accentuate, caricature
from convscope.methods.class_models import ClassvizSpec
from convscope.methods.class_models import class_model as classviz
from convscope.methods.classify import ClassifySpec, classify
from convscope.methods.dream import DreamSpec, dream
from convscope.methods.explain import ExplainSpec, explain
from convscope.methods.filters import FilterSpec, GridSpec
from convscope.methods.filters import filter_grid as grid
from convscope.methods.filters import visualize_filter as filter  # the command's name
from convscope.methods.objective_pictures import RenderSpec
from convscope.methods.objective_pictures import objective_pictures as pictures
from convscope.methods.saliency import SaliencySpec, saliency

__all__ = [
    *_front_end,
    "AccentuateSpec", "ActivationAtlasSpec", "AtlasSpec", "CaricatureSpec", "ClassifySpec", "ClassvizSpec",
    "ConceptsSpec", "DreamSpec", "ExemplarsSpec", "ExplainSpec", "FilterSpec", "GridSpec", "RenderSpec",
    "SaliencySpec", "SpectrumSpec", "StatsSpec", "TrustSpec", "TwinsSpec",
    "accentuate", "activation_atlas", "atlas", "caricature", "classify", "classviz", "concepts", "dream", "exemplars",
    "explain", "filter", "grid", "layers", "on_ray", "pictures", "saliency", "spectrum", "stats", "trust", "twins",
]
