"""Resumable folder-to-folder jobs: the atlas of every unit, the activation atlas, exemplars."""
