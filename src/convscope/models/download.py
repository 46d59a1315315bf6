"""Official weights where the internet is reachable; a clear way out where it is not."""
from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from pathlib import Path

from convscope.errors import WeightsError
from convscope.io.files import atomic_path

OFFICIAL = {
    "vgg16": "vgg16-397923af.pth",
    "vgg19": "vgg19-dcbb9e9d.pth",
}
BASE_URL = "https://download.pytorch.org/models/"


def cache_dir() -> Path:
    """Where downloaded weights live: $CONVSCOPE_CACHE, else ~/.cache/convscope."""
    return Path(os.environ.get("CONVSCOPE_CACHE", Path.home() / ".cache" / "convscope"))


def sha256_prefix(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:8]


def fetch_official(name: str) -> tuple[Path, str]:
    """torchvision's weights for ``name`` from the cache, downloading them if needed;
    with a note saying where they came from."""
    filename = OFFICIAL[name]
    expected = filename.rsplit("-", 1)[1].split(".")[0]
    path = cache_dir() / filename
    if path.is_file() and sha256_prefix(path) == expected:
        return path, f"weights: {path} (torchvision's official file, SHA-256 {expected}...)"
    url = BASE_URL + filename
    try:
        with urllib.request.urlopen(url, timeout=30) as response, atomic_path(path) as tmp:
            with open(tmp, "wb") as out:
                for chunk in iter(lambda: response.read(1 << 20), b""):
                    out.write(chunk)
            got = sha256_prefix(tmp)
            if got != expected:
                raise WeightsError(f"the download of {url} has SHA-256 {got}..., expected {expected}...: "
                                   "try again, or pass a file you trust with {weights}", options=["weights"])
    except (urllib.error.URLError, OSError, TimeoutError) as e:
        raise WeightsError(
            f"{name} needs weights and none could be downloaded ({getattr(e, 'reason', e)}): get {filename} "
            f"from {url} (or a Keras file such as {name}_weights_tf_dim_ordering_tf_kernels.h5, or the "
            f"article's {name}_weights.h5) and pass it with {{weights}} FILE", options=["weights"]) from e
    return path, f"weights: downloaded {url} to {path} (SHA-256 {expected}... checked)"
