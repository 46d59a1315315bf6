"""convscope: see what a convolutional network has learned, by optimizing input images.

One function per command (``filter``, ``grid``, ``pictures`` (the ``render`` command), ``dream``, ``classviz``,
``accentuate``, ``caricature``, ``explain``, ``saliency``, ``classify``, ``stats``, ``twins``,
``spectrum``, ``exemplars``, ``atlas``, ``activation_atlas``, ``concepts``, ``trust``, ``circuit``, ``labels``,
``layers``, ``serve`` (the explorer, started in this process); each takes its options by keyword or
as its spec, such as ``FilterSpec``; the models are listed
by ``convscope.models.available()``), ``load`` for networks, and the engine's parts for a recipe
of one's own (``Recipe``, ``get_recipe``, ``objectives``, ``parse_objective``, and ``Halving``,
which lets ``render`` drop the units far behind); ``PhotoFolder`` and ``on_ray`` read photo
folders on a Ray cluster.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from convscope.runtime.lazy import lazy_exports

if TYPE_CHECKING:  # the names below load on first use (convscope.runtime.lazy)
    from convscope import models
    from convscope.api import (
        AccentuateSpec,
        ActivationAtlasSpec,
        AtlasSpec,
        CaricatureSpec,
        Circuit,
        CircuitJobSpec,
        ClassifySpec,
        ClassvizSpec,
        ConceptsSpec,
        DreamSpec,
        ExemplarsSpec,
        ExplainSpec,
        FilterSpec,
        GridSpec,
        Labels,
        LabelsJobSpec,
        RenderSpec,
        SaliencySpec,
        SpectrumSpec,
        StatsSpec,
        TrustSpec,
        TwinsSpec,
        accentuate,
        activation_atlas,
        atlas,
        caricature,
        circuit,
        classify,
        classviz,
        concepts,
        dream,
        exemplars,
        explain,
        filter,
        grid,
        labels,
        layers,
        on_ray,
        pictures,
        saliency,
        spectrum,
        stats,
        trust,
        twins,
    )
    from convscope.app.notebook import serve
    from convscope.data.photo_sources import PhotoFolder
    from convscope.engine import objectives
    from convscope.engine.batch import RenderResult
    from convscope.engine.halving import Halving
    from convscope.engine.objective_text import parse_objective
    from convscope.engine.recipes import RECIPES, Recipe, get_recipe
    from convscope.engine.render import LoopSpec, render
    from convscope.errors import ConvscopeError
    from convscope.io.picture import Picture
    from convscope.methods.filters import Grid, show
    from convscope.models import load
    from convscope.runtime.compile_settings import compiling

__version__ = "0.1.0"

__all__ = [
    "AccentuateSpec", "ActivationAtlasSpec", "AtlasSpec", "CaricatureSpec", "Circuit", "CircuitJobSpec", "ClassifySpec",
    "ClassvizSpec",
    "ConceptsSpec", "DreamSpec", "ExemplarsSpec", "ExplainSpec", "FilterSpec", "GridSpec", "Labels", "LabelsJobSpec",
    "LoopSpec", "RenderSpec",
    "SaliencySpec", "SpectrumSpec", "StatsSpec", "TrustSpec", "TwinsSpec", "pictures",
    "RECIPES", "ConvscopeError", "Grid", "Halving", "PhotoFolder", "Picture", "Recipe", "RenderResult", "accentuate",
    "activation_atlas", "atlas", "caricature", "circuit", "classify", "classviz", "compiling", "concepts", "dream", "exemplars",
    "explain", "filter", "get_recipe", "grid", "labels", "layers", "load", "models", "objectives", "on_ray", "parse_objective",
    "render", "saliency", "serve", "show", "spectrum", "stats", "trust", "twins",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__)
