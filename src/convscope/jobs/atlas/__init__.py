"""Atlases: every unit of a network rendered, measured, and browsable as a static site."""
from convscope.data.atlas_folder import AtlasFolderError
from convscope.jobs.atlas.builder import AtlasSummary, build_atlas

__all__ = ["AtlasFolderError", "AtlasSummary", "build_atlas"]
