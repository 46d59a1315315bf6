"""convscope: see what a convolutional network has learned, by optimizing input images."""
from __future__ import annotations

from convscope import models
from convscope.engine import objectives
from convscope.engine.objective_text import parse_objective
from convscope.engine.recipes import RECIPES, Recipe, get_recipe
from convscope.engine.render import RenderResult, render
from convscope.errors import ConvscopeError
from convscope.io.picture import Picture
from convscope.methods.accentuation import accentuate, caricature
from convscope.methods.class_models import class_model as classviz
from convscope.methods.classify import classify
from convscope.methods.dream import dream
from convscope.methods.filters import Grid, filter_grid, show, visualize_filter
from convscope.methods.saliency import saliency
from convscope.models import load

__version__ = "0.1.0"

__all__ = [
    "ConvscopeError", "Grid", "Picture", "RECIPES", "Recipe", "RenderResult", "accentuate", "caricature",
    "classify", "classviz", "dream",
    "filter_grid", "get_recipe", "load", "models", "objectives", "parse_objective", "render", "saliency",
    "show", "visualize_filter",
]
