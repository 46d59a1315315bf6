"""The atlas folder: its lock, its settings, and one record per finished unit.

A unit's record (``units/LAYER/NNNN.json``) is written last, after its pictures, each by
rename from a temporary name: the records are the manifest of finished work, so a run
stopped at any moment leaves only whole units behind.
"""
from __future__ import annotations

import fcntl
import json
import shutil
from pathlib import Path
from typing import IO

from convscope.data.atlas_folder import AtlasFolderError, safe_name, unit_stem
from convscope.io.files import write_json

CONFIG = "atlas-config.json"
LOCK = ".atlas.lock"
GENERATED = ("units", "index.html", "atlas.json", CONFIG)


def _short(value: object) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def describe_change(stored: dict, new: dict) -> str:
    """'batch: 16 in the folder, 32 now; ...' for every setting that differs (recipe fields one by one)."""
    parts = []
    for key in sorted(set(stored) | set(new)):
        old, now = stored.get(key), new.get(key)
        if old == now:
            continue
        if isinstance(old, dict) and isinstance(now, dict):
            parts += [f"{key} {field}: {_short(old.get(field))} in the folder, {_short(now.get(field))} now"
                      for field in sorted(set(old) | set(now)) if old.get(field) != now.get(field)]
        else:
            parts.append(f"{key}: {_short(old)} in the folder, {_short(now)} now")
    if stored.get("batch") != new.get("batch"):
        parts.append("(the batch is part of an atlas: units are rendered in fixed batches so that a resumed "
                     f"atlas has the pixels of a clean run; rerun with {{batch}} {stored.get('batch')})")
    return "; ".join(parts)


class AtlasStore:
    """Owns an atlas folder for one run: holds its lock, checks and records its settings."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._lock_file: IO[str] | None = None

    def open(self, config: dict, force: bool) -> None:
        """Locks the folder and makes sure it holds this atlas (or nothing yet)."""
        if self.root.exists() and not self.root.is_dir():
            raise AtlasFolderError(f"{self.root} is a file: give a folder for the atlas")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self._lock_file = open(self.root / LOCK, "a+")
        except OSError as e:
            raise AtlasFolderError(f"cannot write to {self.root}: {e.strerror}") from e
        lock = self._lock_file
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as e:
            lock.close()
            self._lock_file = None
            raise AtlasFolderError(f"another convscope atlas run is writing {self.root}; wait for it "
                                   "to finish (or stop it) and run again") from e
        existing = self.read_config()
        if existing is not None and existing != config:
            if not force:
                self.close()
                raise AtlasFolderError(f"{self.root} holds an atlas with other settings: {describe_change(existing, config)}; "
                                       "use the same settings to resume, another folder, or {force} to replace it",
                                       options=["force", "batch"])
            self.clear()
        write_json(self.root / CONFIG, config)

    def close(self) -> None:
        if self._lock_file is not None:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None

    def __enter__(self) -> "AtlasStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read_config(self) -> dict | None:
        path = self.root / CONFIG
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return None

    def clear(self) -> None:
        """Removes what an earlier atlas wrote here (and nothing else)."""
        for name in GENERATED:
            path = self.root / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()

    def unit_dir(self, layer: str) -> Path:
        return self.root / "units" / safe_name(layer)

    def record_path(self, layer: str, channel: int) -> Path:
        return self.unit_dir(layer) / f"{unit_stem(channel)}.json"

    def is_done(self, layer: str, channel: int) -> bool:
        return self.record_path(layer, channel).is_file()

    def write_record(self, layer: str, channel: int, record: dict) -> None:
        write_json(self.record_path(layer, channel), record)

    def read_record(self, layer: str, channel: int) -> dict:
        return json.loads(self.record_path(layer, channel).read_text())

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
        return {str(p.relative_to(root)): p for p in root.rglob("*") if p.is_file() and p.name != LOCK}
    fa, fb = files(a), files(b)
    return sorted(k for k in set(fa) | set(fb)
                  if k not in fa or k not in fb or fa[k].read_bytes() != fb[k].read_bytes())
