"""Digests of a fixed set of renders, through the command line, for checking that a change of
the code keeps every pixel: run it before and after, and compare.

    python -m benchmarks.pixel_digests FILE            # write the digests to FILE
    python -m benchmarks.pixel_digests FILE --compare  # compare with FILE; exit 1 on a difference

The digests hold on one machine (same seed, same pixels), not across machines.
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import sys
import tempfile
from pathlib import Path

import skimage.data
from PIL import Image

from convscope.cli import main as convscope

RENDERS: dict[str, list[str]] = {
    "filter-keras2016": ["filter", "efficientnet-lite0", "block8", "12", "--recipe", "keras2016"],
    "filter-lucid": ["filter", "efficientnet-lite0", "block8", "3", "--steps", "24", "--size", "64",
                     "--thresholds", "8,16"],
    "filter-maco": ["filter", "efficientnet-lite0", "block5", "7", "--recipe", "maco", "--steps", "12",
                    "--size", "96", "--view-size", "64"],
    "filter-first-conv": ["filter", "efficientnet-lite0", "stem", "2", "--recipe", "keras2016", "--size", "64"],
    "grid-keras2016": ["grid", "efficientnet-lite0", "block3", "--recipe", "keras2016", "--candidates", "12",
                       "--top", "4", "--size", "64"],
    "grid-lucid": ["grid", "efficientnet-lite0", "block8", "--candidates", "6", "--top", "4", "--steps", "16",
                   "--size", "64", "--batch", "4"],
    "render-sum": ["render", "block8:12 - 0.5*block8:40", "--steps", "16", "--size", "64", "--count", "2"],
    "render-maco": ["render", "logits:18", "--recipe", "maco", "--steps", "8", "--size", "96", "--view-size", "64"],
    "dream": ["dream", "--octaves", "2", "--steps", "3", "--layers", "block5"],
    "classviz": ["classviz", "65", "--steps", "6", "--size", "96"],
    "classviz-maco": ["classviz", "18", "--recipe", "maco", "--steps", "6", "--size", "96", "--view-size", "64"],
    "accentuate": ["accentuate", "PHOTO", "block8:12", "--steps", "6"],
}
"""Each render's command-line arguments; "PHOTO" stands for a built-in photo written to a file."""


def digest_of(folder: Path) -> dict[str, str]:
    """SHA-256 of every image file in ``folder``, by name."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:16]
            for p in sorted(folder.iterdir()) if p.suffix in (".png", ".jpg")}


def run_all() -> dict[str, dict[str, str]]:
    """Runs every render into a fresh folder; returns each one's image digests."""
    digests = {}
    with tempfile.TemporaryDirectory() as tmp:
        photo = Path(tmp) / "chelsea.png"
        Image.fromarray(skimage.data.chelsea()).save(photo)
        for name, argv in RENDERS.items():
            folder = Path(tmp) / name
            folder.mkdir()
            args = [str(photo) if a == "PHOTO" else a for a in argv] + ["-o", str(folder / "out.png")]
            with contextlib.redirect_stdout(io.StringIO()):
                status = convscope(args)
            if status != 0:
                raise SystemExit(f"{name} failed with status {status}")
            digests[name] = digest_of(folder)
            print(f"{name}: {digests[name]}", file=sys.stderr)
    return digests


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--compare", action="store_true")
    args = parser.parse_args()
    digests = run_all()
    if not args.compare:
        args.file.write_text(json.dumps(digests, indent=1) + "\n")
        return 0
    before = json.loads(args.file.read_text())
    differ = [name for name in RENDERS if before.get(name) != digests.get(name)]
    print("same pixels" if not differ else "different pixels: " + ", ".join(differ))
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
