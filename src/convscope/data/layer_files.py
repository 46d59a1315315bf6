"""Per-layer arrays on disk: one small file per layer, written whole or not at all."""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np

from convscope.io.files import atomic_path

SUMMARY_FILE = "exemplars.json"


def write_layer_file(path: Path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """An .npz (NumPy can read it) with fixed zip dates, so equal results are equal bytes."""
    with atomic_path(path) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, array in [*sorted(arrays.items()), ("meta", np.array(json.dumps(meta, sort_keys=True)))]:
                buffer = io.BytesIO()
                np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
                zf.writestr(zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0)), buffer.getvalue(),
                            compress_type=zipfile.ZIP_DEFLATED)


def load_layer_file(path: str | Path) -> tuple[dict[str, np.ndarray], dict]:
    """A layer's result file: its arrays and its settings."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files if k != "meta"}
        meta = json.loads(data["meta"].item())
    return arrays, meta


def layer_file(out: Path, layer: str) -> Path:
    return out / f"{layer.replace('/', '_')}.npz"
