"""The atlas folder's units: one record per finished unit.

A unit's record (``units/LAYER/NNNN.json``) is written last, after its pictures, each by
rename from a temporary name: the records are the manifest of finished work, so a run
stopped at any moment leaves only whole units behind.
"""
from __future__ import annotations

import json
from pathlib import Path

from convscope.data.atlas_folder import safe_name, unit_stem
from convscope.data.atlas_record import UnitRecord
from convscope.io.files import write_json
from convscope.jobs.job_folder import LOCK_FILE

CONFIG = "atlas-config.json"
GENERATED = ("units", "index.html", "atlas.json")


def batch_hint(stored: dict) -> str:
    """What a refusal adds when an atlas's batch changed: the batch is part of its settings."""
    if "batch" not in stored:
        return ""
    return ("the batch is part of an atlas: units are rendered in fixed batches so that a resumed atlas has the "
            f"pixels of a clean run; rerun with {{batch}} {stored['batch']}")


class AtlasStore:
    """Where an atlas folder keeps each unit's files and its record (the folder itself is owned
    by a ``JobFolder`` for the run)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def unit_dir(self, layer: str) -> Path:
        return self.root / "units" / safe_name(layer)

    def record_path(self, layer: str, channel: int) -> Path:
        return self.unit_dir(layer) / f"{unit_stem(channel)}.json"

    def is_done(self, layer: str, channel: int) -> bool:
        return self.record_path(layer, channel).is_file()

    def write_record(self, layer: str, channel: int, record: UnitRecord) -> None:
        """Writes a finished unit's record (the mark that it is finished)."""
        write_json(self.record_path(layer, channel), record.to_json())

    def read_record(self, layer: str, channel: int) -> UnitRecord:
        """A finished unit's record.

        Raises:
            RecordError: a record this version cannot read.
        """
        path = self.record_path(layer, channel)
        return UnitRecord.from_json(json.loads(path.read_text()), str(path))

    def remove_partial_files(self) -> None:
        """Deletes temporary files a killed run left behind."""
        units = self.root / "units"
        if units.is_dir():
            for part in units.rglob("*.part"):
                part.unlink(missing_ok=True)
        for part in self.root.glob(".*.part"):
            part.unlink(missing_ok=True)


def same_tree(a: Path, b: Path) -> list[str]:
    """Relative paths whose presence or bytes differ between two folders (the lock aside)."""
    def files(root: Path) -> dict[str, Path]:
        return {str(p.relative_to(root)): p for p in root.rglob("*") if p.is_file() and p.name != LOCK_FILE}
    fa, fb = files(a), files(b)
    return sorted(k for k in set(fa) | set(fb)
                  if k not in fa or k not in fb or fa[k].read_bytes() != fb[k].read_bytes())
