"""The Python API, the one door to convscope for every front end: one function per command,
taking what a user has (a model or its name, objectives as text, recipes by name or as objects,
photos as paths, folders or arrays) and returning results that show themselves in Jupyter.

Each command's options are one spec (``FilterSpec``, ``ConceptsSpec``, ...): a function takes
them as keywords or as ``spec=``, builds the spec once and hands it whole to the part that does
the work. Besides, it offers what a front end needs around the commands (the choices to offer,
inputs checked, files written; ``front_end`` holds those no part below has); the command line
imports from here and nothing below it. Every name loads its module on first use, so listing
the commands and their options needs no torch.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from convscope.runtime.lazy import lazy_exports

if TYPE_CHECKING:  # the names below load on first use (convscope.runtime.lazy), so --help needs no torch
    from convscope.api.circuits import circuit
    from convscope.api.concept_units import concepts_of_unit
    from convscope.api.defaults import CIRCUIT_OUT, GPUS_PER_TASK, TRUST_OUT
    from convscope.api.exemplar_sheets import exemplar_sheet
    from convscope.api.front_end import (
        atlas_layers,
        check_folder_network,
        check_output_dir,
        check_output_image,
        check_photo_folder,
        check_port,
        recipe_from,
        require_serve,
        save_with_importance,
        steps_strip,
    )
    from convscope.api.labels import labels
    from convscope.api.layer_jobs import (
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
    from convscope.api.unit_pictures import unit_pictures
    from convscope.data.atlas_folder import safe_name
    from convscope.data.atlas_folder import thumbnail as atlas_thumbnail
    from convscope.data.layer_files import layer_file
    from convscope.data.photo_sources import PhotoSource, photo_source
    from convscope.engine.objective_text import parse_objective
    from convscope.engine.recipe_settings import DEFAULT_RECIPE, RECIPE_SETTINGS, RECIPE_USES, size_text
    from convscope.engine.recipe_settings import Settings as RecipeSettings
    from convscope.engine.recipe_settings import Uses as RecipeUses
    from convscope.engine.recipes import RECIPES, Recipe
    from convscope.engine.spectrum_spec import SpectrumSpec
    from convscope.io.builtin_photos import builtin_photo, builtin_photos
    from convscope.io.files import write_json
    from convscope.io.photo_reading import load_photo
    from convscope.io.picture import Picture, stitch
    from convscope.io.user_code import is_user_spec
    from convscope.jobs.activation_atlas import require_umap
    from convscope.jobs.atlas.builder import BatchWatch
    from convscope.jobs.concepts.result import Concepts
    from convscope.jobs.specs import (
        ActivationAtlasSpec,
        AtlasSpec,
        CircuitJobSpec,
        ConceptsSpec,
        ExemplarsSpec,
        LabelsJobSpec,
        ServeSpec,
        TrustSpec,
    )
    from convscope.methods.accentuation import accentuate, caricature
    from convscope.methods.circuits.result import Circuit
    from convscope.methods.class_models import class_model as classviz
    from convscope.methods.classify import classify
    from convscope.methods.dream import dream
    from convscope.methods.explain import explain
    from convscope.methods.filters import filter_grid as grid
    from convscope.methods.filters import visualize_filter as filter  # the command's name
    from convscope.methods.labels.result import NO_LABEL, Labels, matches, words_of
    from convscope.methods.labels.result import RULE as LABEL_RULE
    from convscope.methods.labels.result import SOURCES as LABEL_SOURCES
    from convscope.methods.objective_pictures import objective_pictures as pictures
    from convscope.methods.saliency import saliency
    from convscope.methods.specs import (
        SELECT_RULES,
        AccentuateSpec,
        CaricatureSpec,
        ClassifySpec,
        ClassvizSpec,
        DreamSpec,
        ExplainSpec,
        FilterSpec,
        GridSpec,
        RenderSpec,
        SaliencySpec,
        StatsSpec,
        TwinsSpec,
    )
    from convscope.methods.unit_maps import unit_maps
    from convscope.models import DEFAULT_MODEL
    from convscope.models.base import VisionModel
    from convscope.models.loading import NEEDS_WEIGHTS, available, load, load_architecture
    from convscope.pages.explanation_page import write_explanation
    from convscope.runtime.compile_settings import CompileFallback, compiling
    from convscope.runtime.devices import resolve_device
    from convscope.runtime.setting_names import COMPILE_MODES, DEVICE_CHOICES, PRECISIONS
    from convscope.runtime.spec import Spec, SpecType, default_of, help_text, spec_options

__all__ = [
    "CIRCUIT_OUT", "COMPILE_MODES", "Circuit", "CircuitJobSpec", "CompileFallback",
    "GPUS_PER_TASK", "TRUST_OUT", "Concepts", "LABEL_RULE", "LABEL_SOURCES", "Labels", "NO_LABEL",
    "DEFAULT_MODEL", "DEFAULT_RECIPE",
    "DEVICE_CHOICES",
    "NEEDS_WEIGHTS", "PRECISIONS", "PhotoSource", "Picture", "RECIPES", "RECIPE_SETTINGS", "RECIPE_USES",
    "RecipeSettings", "RecipeUses", "Recipe", "SELECT_RULES", "Spec", "SpecType",
    "VisionModel", "available", "builtin_photo", "builtin_photos", "check_output_dir", "check_output_image",
    "check_photo_folder",
    "atlas_layers", "safe_name", "ServeSpec", "check_folder_network", "check_port", "concepts_of_unit", "exemplar_sheet",
    "unit_maps", "unit_pictures", "atlas_thumbnail", "BatchWatch",
    "require_serve", "matches", "words_of",
    "compiling", "default_of", "help_text", "is_user_spec", "layer_file", "load",
    "load_architecture", "load_photo", "parse_objective", "photo_source", "recipe_from", "require_umap",
    "resolve_device", "save_with_importance", "size_text", "spec_options", "steps_strip", "stitch",
    "write_explanation", "write_json",
    "AccentuateSpec", "ActivationAtlasSpec", "AtlasSpec", "CaricatureSpec", "ClassifySpec", "ClassvizSpec",
    "ConceptsSpec", "DreamSpec", "ExemplarsSpec", "ExplainSpec", "FilterSpec", "GridSpec", "LabelsJobSpec", "RenderSpec",
    "SaliencySpec", "SpectrumSpec", "StatsSpec", "TrustSpec", "TwinsSpec",
    "accentuate", "activation_atlas", "atlas", "caricature", "circuit", "classify", "classviz", "concepts", "dream", "exemplars",
    "explain", "filter", "grid", "labels", "layers", "on_ray", "pictures", "saliency", "spectrum", "stats", "trust", "twins",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__)
