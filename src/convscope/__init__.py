"""convscope: see what a convolutional network has learned, by optimizing input images."""
from __future__ import annotations

from convscope import models
from convscope.accentuate import accentuate, caricature
from convscope.classify import classify
from convscope.classviz import class_model as classviz
from convscope.dream import dream
from convscope.engine import objectives
from convscope.engine.objective_text import parse_objective
from convscope.engine.recipes import RECIPES, Recipe, get_recipe
from convscope.engine.render import RenderResult, render
from convscope.errors import ConvscopeError
from convscope.io.picture import Picture
from convscope.models import load
from convscope.saliency import saliency
from convscope.visualize import Grid, filter_grid, show, visualize_filter

__version__ = "0.1.0"

__all__ = [
    "ConvscopeError", "Grid", "Picture", "RECIPES", "Recipe", "RenderResult", "accentuate", "caricature",
    "classify", "classviz", "dream",
    "filter_grid", "get_recipe", "load", "models", "objectives", "parse_objective", "render", "saliency",
    "show", "visualize_filter",
]
