"""Regenerates the README's gallery: every picture from the one command shown beside it.

    python examples/gallery.py [--work DIR] [--only grid,dream,...]

Each command of ``GALLERY`` runs in a work folder (default ``gallery-work/``), seeded, as a
user would type it; then its picture is written as a small JPEG (at most ``MAX_BYTES``) into
``docs/gallery/``. The atlas and concept pages are screenshots taken with headless Chromium
(Debian's ``chromium``; ``make browser`` installs it). About ten minutes on 2 CPU cores.
"""
from __future__ import annotations

import argparse
import io
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
GALLERY_DIR = ROOT / "docs" / "gallery"
MAX_BYTES = 100_000
WIDTH = 720  # pictures wider are made smaller
MIN_WIDTH = 400  # pictures narrower are enlarged by a whole factor, so a 128 px unit picture can be seen


@dataclass(frozen=True)
class Shot:
    """One gallery picture: its file name (without .jpg), the command that makes it (the
    README shows it under the picture), and how its picture is read from the work folder."""

    name: str
    command: str
    picture: Callable[[Path], Image.Image]


def side_by_side(*names: str) -> Callable[[Path], Image.Image]:
    """The pictures ``names`` of the work folder in a row, on black, 8 px apart."""
    def read(work: Path) -> Image.Image:
        pictures = [Image.open(work / name).convert("RGB") for name in names]
        height = max(p.height for p in pictures)
        sheet = Image.new("RGB", (sum(p.width for p in pictures) + 8 * (len(pictures) - 1), height))
        x = 0
        for p in pictures:
            sheet.paste(p, (x, 0))
            x += p.width + 8
        return sheet
    return read


def screenshot(page: str, size: str = "1200,900") -> Callable[[Path], Image.Image]:
    """A headless Chromium screenshot of the page ``page`` of the work folder."""
    def read(work: Path) -> Image.Image:
        browser = shutil.which("chromium")
        if browser is None:
            raise SystemExit("gallery: the screenshots need Debian's chromium (make browser installs it)")
        with tempfile.TemporaryDirectory() as tmp:
            shot = Path(tmp) / "shot.png"
            subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                            f"--window-size={size}", f"--screenshot={shot}", (work / page).resolve().as_uri()],
                           check=True, capture_output=True)
            return Image.open(shot).convert("RGB")
    return read


def first_concept_page(work: Path) -> str:
    """The page of the concepts run's first concept."""
    return str(sorted((work / "concepts" / "concepts").glob("*.html"))[0].relative_to(work))


PREPARE = [
    "python -m benchmarks.photos photos 200",
    "python -c \"import skimage.data, PIL.Image; PIL.Image.fromarray(skimage.data.coffee()).save('coffee.jpg')\"",
]

GALLERY = [
    Shot("grid", "convscope grid efficientnet-lite0 block8 -o grid.png --recipe keras2016", side_by_side("grid.png")),
    Shot("lucid", "convscope filter efficientnet-lite0 head 14 -o lucid.png --recipe lucid --importance",
         side_by_side("lucid.png", "lucid.importance.png")),
    Shot("maco", "convscope filter efficientnet-lite0 head 14 -o maco.png --recipe maco --importance",
         side_by_side("maco.png", "maco.importance.png")),
    Shot("dream", "convscope dream -o dream.jpg", side_by_side("dream.jpg")),
    Shot("fooling", "convscope classviz \"sea snake\" -o sea-snake.png --until 0.999 --check efficientnet-lite2",
         side_by_side("sea-snake.display.png")),
    Shot("class-maco", "convscope classviz \"sea snake\" -o sea-snake-maco.png --recipe maco --check efficientnet-lite2",
         side_by_side("sea-snake-maco.png")),
    Shot("accentuate", "convscope accentuate coffee.jpg \"logits:18\" -o accentuated.png --steps 64",
         side_by_side("accentuated.sheet.png")),
    Shot("atlas", "convscope atlas efficientnet-lite0 --out atlas --layers block3 --steps 128 --photos photos",
         screenshot("atlas/units/block3/0005.html")),
    Shot("activation-atlas", "convscope activation-atlas efficientnet-lite0 block8 --photos photos --out activation-atlas "
         "--grid 8 --samples 2000 --steps 128", side_by_side("activation-atlas/atlas.png")),
    Shot("concepts", "convscope concepts efficientnet-lite0 head --photos photos --out concepts --concepts 16",
         lambda work: screenshot(first_concept_page(work))(work)),
    Shot("twins", "convscope twins efficientnet-lite0 stem -o twins.png --photos photos --top 4",
         side_by_side("twins.png")),
    Shot("circuit", "convscope circuit efficientnet-lite0 logits:tabby --photos photos --depth 3 --expand 2 --out circuit",
         side_by_side("circuit/graph.png")),
]


def run(command: str, work: Path) -> None:
    """Runs one command in ``work`` (``convscope`` and ``python`` are this environment's)."""
    program, *rest = shlex.split(command)
    argv = [sys.executable, "-m", "convscope", *rest, "--quiet"] if program == "convscope" else [sys.executable, *rest]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    print(f"$ {command}", flush=True)
    subprocess.run(argv, cwd=work, env=env, check=True)


def small_jpeg(picture: Image.Image, path: Path) -> int:
    """Writes ``picture`` between ``MIN_WIDTH`` and ``WIDTH`` wide as a JPEG of at most
    ``MAX_BYTES``; returns its size in bytes."""
    if picture.width > WIDTH:
        picture = picture.resize((WIDTH, round(picture.height * WIDTH / picture.width)), Image.Resampling.LANCZOS)
    elif picture.width < MIN_WIDTH:
        factor = -(-MIN_WIDTH // picture.width)
        picture = picture.resize((picture.width * factor, picture.height * factor), Image.Resampling.LANCZOS)
    for quality in range(88, 40, -6):
        data = io.BytesIO()
        picture.save(data, "JPEG", quality=quality, optimize=True)
        if data.tell() <= MAX_BYTES:
            break
    path.write_bytes(data.getvalue())
    return data.tell()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", default=str(ROOT / "gallery-work"), help="the folder the commands run in")
    parser.add_argument("--only", help="names of the pictures to make, comma-separated")
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    chosen = [s for s in GALLERY if args.only is None or s.name in args.only.split(",")]
    if not (work / "photos").is_dir():
        for command in PREPARE:
            run(command, work)
    GALLERY_DIR.mkdir(parents=True, exist_ok=True)
    for shot in chosen:
        run(shot.command, work)
        size = small_jpeg(shot.picture(work), GALLERY_DIR / f"{shot.name}.jpg")
        print(f"docs/gallery/{shot.name}.jpg: {size / 1000:.0f} KB", flush=True)


if __name__ == "__main__":
    main()
