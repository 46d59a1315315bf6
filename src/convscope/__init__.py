"""convscope: see what a convolutional network has learned, by optimizing input images."""
from __future__ import annotations

from . import models, objectives
from .accentuate import accentuate, caricature
from .classify import classify
from .classviz import class_model as classviz
from .dream import dream
from .errors import ConvscopeError
from .images import Picture
from .models import load
from .objective_text import parse_objective
from .recipes import RECIPES, Recipe, get_recipe
from .render import RenderResult, render
from .saliency import saliency
from .visualize import Grid, filter_grid, show, visualize_filter

__version__ = "0.1.0"

__all__ = [
    "ConvscopeError", "Grid", "Picture", "RECIPES", "Recipe", "RenderResult", "accentuate", "caricature",
    "classify", "classviz", "dream",
    "filter_grid", "get_recipe", "load", "models", "objectives", "parse_objective", "render", "saliency",
    "show", "visualize_filter",
]
