"""Atlases: every unit of a network rendered, measured, and browsable as a static site."""
from convscope.atlas.builder import AtlasSummary, build_atlas
from convscope.atlas.store import AtlasFolderError

__all__ = ["AtlasFolderError", "AtlasSummary", "build_atlas"]
