"""Atlases: every unit of a network rendered, measured, and browsable as a static site."""
from .builder import AtlasSummary, build_atlas
from .store import AtlasFolderError

__all__ = ["AtlasFolderError", "AtlasSummary", "build_atlas"]
