"""Section 25: the explorer's speed, measured in a real browser.

``convscope serve efficientnet-lite0`` (the lucid recipe at 128 px, its other settings the
defaults) runs in a process of its own over a photo folder (the first PHOTOS of the folder
given), and headless Chromium (Debian's chromium and chromium-driver, through selenium) opens
its pages:

- first picture: the page of unit 12 of block8, whose layer is not rendered yet: seconds from
  opening the page to the first picture of the unit as it renders, loaded in the page;
- a screen of thumbnails: the page of block8 in a fresh workspace: seconds from opening it until
  32 cells show their pictures as they render, until they show their first pictures (the
  default ``--thumbnail-steps 128``), and until 32 of the atlas's thumbnails have loaded (the
  first batch at the recipe's 512 steps, after the atlas's pass over the photos); and the
  same page with ``--thumbnail-steps 0`` (no first pictures), after which, while the atlas
  renders its second batch, the page of a unit of a later batch opens: seconds to its first
  picture (the layer's render gives way to it);
- first pictures beside the atlas's: the first screen's units at 128 steps, the activation each
  reaches as a share of its atlas picture's, and a contact sheet;
- progress updates: in this process, the render of block8:12 as the explorer runs it (a
  picture saved about twice a second, with its value) against the same render without,
  alternated three times: the cost per update and its share of the render's time.

Screenshots of the pages make a contact sheet. ``python -m benchmarks.explorer_speed PHOTOS OUT
[--quick]`` prints one JSON line and writes OUT/explorer-pages.jpg and
OUT/explorer-first-pictures.jpg.
"""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

import convscope
from convscope.app.worker import Job, Report
from convscope.app.workspace import Workspace
from convscope.io.picture import Picture, column, labelled, row

from .harness import median

MODEL, LAYER, UNIT, SIZE = "efficientnet-lite0", "block8", 12, 128
BUSY_UNIT = 100  # a unit of block8's last batch
SCREEN = 32  # thumbnails on a first screen
FIRST_STEPS = 128  # the explorer's default first pictures
PAGE_SECONDS = 600.0  # the longest a page may take here


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def browser():
    """Headless Chromium through selenium (Debian's chromium and chromium-driver)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--window-size=1100,900"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(executable_path=shutil.which("chromedriver") or "chromedriver"),
                            options=options)


class Server:
    """``convscope serve`` in a process of its own, over a fresh workspace."""

    def __init__(self, photos: Path, folder: Path, *extra: str) -> None:
        self.port = free_port()
        self.process = subprocess.Popen([sys.executable, "-m", "convscope", "serve", MODEL, "--photos", str(photos),
                                         "--folder", str(folder), "--port", str(self.port), "--size", str(SIZE),
                                         *extra], stderr=subprocess.PIPE, text=True)
        line = self.process.stderr.readline() if self.process.stderr else ""
        if "convscope explorer" not in line:
            raise RuntimeError(f"the explorer did not start: {line}")
        self.url = f"http://127.0.0.1:{self.port}/"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=60)


def seconds_until(driver, script: str) -> float:
    """Seconds until ``script`` (JavaScript returning a truth value) holds in the page, polled
    every 20 ms from now."""
    start = time.perf_counter()
    while not driver.execute_script(script):
        if time.perf_counter() - start > PAGE_SECONDS:
            raise RuntimeError(f"the page did not get there in {PAGE_SECONDS:.0f} s: {script}")
        time.sleep(0.02)
    return time.perf_counter() - start


def first_picture(driver, photos: Path, folder: Path, shots: dict[str, Picture]) -> dict:
    """Seconds from opening a unit's page (its layer not rendered) to its first picture loaded."""
    server = Server(photos, folder)
    try:
        start = time.perf_counter()
        driver.get(f"{server.url}unit/{LAYER}/{UNIT}")
        opened = time.perf_counter() - start
        shown = opened + seconds_until(driver, "const i = document.querySelector('#live img'); "
                                               "return !!(i && i.complete && i.naturalWidth > 0)")
        done = opened + seconds_until(driver, "const c = document.querySelector('#live figcaption'); "
                                              "return !!(c && c.textContent.startsWith('rendered alone'))")
        seconds_until(driver, "const i = document.querySelector('#live img'); return !!(i && i.complete)")
        shots["a unit's page, its picture rendered alone"] = screenshot(driver)
    finally:
        server.stop()
    return {"page_seconds": opened, "first_picture_seconds": shown, "render_seconds": done}


def screen_of_thumbnails(driver, photos: Path, folder: Path, first_steps: int, shots: dict[str, Picture]) -> dict:
    """Seconds from opening a layer's page in a fresh workspace (its first pictures at
    ``first_steps`` steps, 0: none) until SCREEN cells show their pictures as they render, show
    their first pictures, and show the atlas's thumbnails."""
    server = Server(photos, folder, "--thumbnail-steps", str(first_steps))
    try:
        start = time.perf_counter()
        driver.get(f"{server.url}layer/{LAYER}")
        loaded = "i => i.complete && i.naturalWidth > 0"
        shown = seconds_until(driver, "return [...document.querySelectorAll('.grid img')].filter("
                                      f"{loaded}).length >= {SCREEN}")
        firsts = None
        if first_steps:
            firsts = time.perf_counter() - start + seconds_until(
                driver, f"return [...document.querySelectorAll('.grid a img')].filter({loaded}).length >= {SCREEN}")
            shots[f"a layer's grid: first pictures ({first_steps} steps)"] = screenshot(driver)
        first = time.perf_counter() - start + seconds_until(
            driver, f"return [...document.querySelectorAll('.grid a.done img')].some({loaded})")
        seconds_until(driver, f"return [...document.querySelectorAll('.grid a.done img')].filter({loaded})"
                              f".length >= {SCREEN}")
        total = time.perf_counter() - start
        shots[f"a layer's grid: the atlas's thumbnails (512 steps{', after first pictures' if first_steps else ''})"] \
            = screenshot(driver)
        busy = None
        if first_steps:
            driver.get(f"{server.url}unit/{LAYER}/{UNIT}")
            seconds_until(driver, "return !!document.getElementById('circuit').textContent")
            shots["a unit's page with its circuit"] = screenshot(driver)
        else:  # the layer's atlas renders its second batch: a unit of a later batch is opened
            opened = time.perf_counter()
            driver.get(f"{server.url}unit/{LAYER}/{BUSY_UNIT}")
            busy = time.perf_counter() - opened + seconds_until(
                driver, "const i = document.querySelector('#live img'); return !!(i && i.complete && i.naturalWidth > 0)")
    finally:
        server.stop()
    return {"first_steps": first_steps, "shown_seconds": shown, "first_pictures_seconds": firsts,
            "first_seconds": first, "screen_seconds": total, "busy_unit_first_picture_seconds": busy}


def first_pictures_beside_final(atlas: Path, first_steps: int, out: Path) -> dict:
    """The first screen's units rendered as the explorer's first pictures (``first_steps`` steps)
    beside the atlas's pictures of them (512 steps): the activation each reaches, as a share of
    the atlas's, and a contact sheet (first pictures above, the atlas's below)."""
    model = convscope.load(MODEL)
    units = list(range(SCREEN))
    recipe = convscope.get_recipe("lucid", size=SIZE, steps=first_steps)
    pictures, values = convscope.api.unit_pictures(model, LAYER, units, recipe=recipe, seed=0,
                                                   progress=lambda _done, _total: None)
    records = [json.loads((atlas / "units" / LAYER / f"{u:04d}.json").read_text()) for u in units]
    shares = [value / record["activation"] for value, record in zip(values, records)]
    finals = [Picture(np.asarray(Image.open(atlas / "units" / LAYER / f"{u:04d}.thumb.png").convert("RGB")))
              for u in units]
    half = SCREEN // 2
    rows = [row(group, 2) for group in ([convscope.api.atlas_thumbnail(p) for p in pictures][:half], finals[:half],
                                        [convscope.api.atlas_thumbnail(p) for p in pictures][half:], finals[half:])]
    column(rows, 6).save(out / "explorer-first-pictures.jpg")
    return {"median_share": median(shares), "min_share": min(shares), "units": len(units)}


def screenshot(driver) -> Picture:
    from io import BytesIO

    from PIL import Image

    with Image.open(BytesIO(driver.get_screenshot_as_png())) as image:
        return Picture(np.asarray(image.convert("RGB").resize((550, 450))))


class CountingReport(Report):
    """A job's report that counts the pictures shown."""

    def __init__(self) -> None:
        super().__init__(Job("render", "render", "render", work=lambda _report: {}))
        self.updates = 0

    def preview(self, url: str, value: float | None = None) -> None:
        super().preview(url, value)
        self.updates += 1


def update_cost(photos: Path, folder: Path, runs: int) -> dict:
    """The explorer's render of block8:12 (pictures shown as it goes) against the same render
    without, alternated ``runs`` times after one of each untimed."""
    model = convscope.load(MODEL)
    recipe = convscope.get_recipe("lucid", size=SIZE)
    workspace = Workspace(folder, model, str(photos), convscope.api.ServeSpec.of(None, recipe=recipe))
    updates: list[int] = []

    def plain() -> None:
        convscope.pictures(model, f"{LAYER}:{UNIT}", recipe=recipe, seed=0, progress=lambda _done, _total: None)

    def shown() -> None:
        report = CountingReport()
        for stale in workspace.renders_dir.glob("*"):
            stale.unlink()
        workspace.render_objective(f"{LAYER}:{UNIT}", recipe.steps, report)
        updates.append(report.updates)

    times: dict[str, list[float]] = {"plain": [], "shown": []}
    variants: dict[str, Callable[[], None]] = {"plain": plain, "shown": shown}
    for timed in [False] + [True] * runs:
        for name, work in variants.items():
            start = time.perf_counter()
            work()
            if timed:
                times[name].append(time.perf_counter() - start)
    plain_s, shown_s = median(times["plain"]), median(times["shown"])
    per_update = (shown_s - plain_s) / max(1, median([float(u) for u in updates]))
    return {"plain_seconds": times["plain"], "shown_seconds": times["shown"], "updates": updates,
            "overhead_share": shown_s / plain_s - 1, "seconds_per_update": per_update,
            "one_update_seconds": one_update_seconds(folder, recipe.hw)}


def one_update_seconds(folder: Path, hw: tuple[int, int], times: int = 50) -> float:
    """The server's own cost of one update, timed directly: the picture as it stands saved as the
    page reads it (the median of ``times``)."""
    import torch

    image = torch.rand(3, *hw, generator=torch.Generator().manual_seed(0))
    folder.mkdir(parents=True, exist_ok=True)
    seconds = []
    for k in range(times):
        start = time.perf_counter()
        Picture.from_tensor(image.clamp(0, 1)).save(folder / f"update-{k}.png")
        seconds.append(time.perf_counter() - start)
    return median(seconds)


def main(photos: Path, out: Path, quick: bool) -> dict:
    count = 40 if quick else 200
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        subset = root / "photos"
        subset.mkdir()
        for path in sorted(p for p in photos.iterdir() if p.suffix.lower() in (".jpeg", ".jpg", ".png"))[:count]:
            shutil.copy(path, subset / path.name)
        shots: dict[str, Picture] = {}
        driver = browser()
        try:
            first = first_picture(driver, subset, root / "ws-unit", shots)
            screens = [screen_of_thumbnails(driver, subset, root / f"ws-layer-{steps}", steps, shots)
                       for steps in (FIRST_STEPS, 0)]
        finally:
            driver.quit()
        out.mkdir(parents=True, exist_ok=True)
        quality = first_pictures_beside_final(root / f"ws-layer-{FIRST_STEPS}" / "atlas", FIRST_STEPS, out)
        cost = update_cost(subset, root / "ws-cost", 1 if quick else 3)
        column([labelled(shot, title) for title, shot in shots.items()], 8).save(out / "explorer-pages.jpg")
    return {"explorer_speed": {"photos": count, "first_picture": first, "screens": screens, "first_pictures": quality,
                               "updates": cost}}


def explorer_speed_markdown(result: dict | str) -> list[str]:
    """Section 25 of BENCHMARKS.md."""
    parts = ["## 25. The explorer in a real browser", ""]
    if isinstance(result, str):
        return parts + [result, ""]
    first, cost = result["first_picture"], result["updates"]
    parts += ["`EXPLORER_PHOTOS=DIR python -m benchmarks --only explorer_speed`, or `python -m "
              "benchmarks.explorer_speed DIR OUT`: `convscope serve efficientnet-lite0 --size 128` (lucid, its other "
              f"settings the defaults) in a process of its own over the first {result['photos']} photos of the folder, "
              "and headless Chromium through selenium. Seconds from opening a page; each a single run.", "",
              "| what | seconds |", "| --- | --- |",
              f"| a unit's page (block8:12, its layer not rendered): the page | {first['page_seconds']:.2f} |",
              f"| ... its first picture as it renders, loaded | {first['first_picture_seconds']:.2f} |",
              f"| ... its render done (512 steps, alone) | {first['render_seconds']:.1f} |"]
    for s in result["screens"]:
        first_steps = s["first_steps"]
        parts += [f"| a layer's page (block8, fresh workspace, `--thumbnail-steps {first_steps}`): {SCREEN} cells "
                  f"showing their pictures as they render | {s['shown_seconds']:.1f} |"]
        if first_steps:
            parts += [f"| ... {SCREEN} first pictures ({first_steps} steps; a first screen) | "
                      f"{s['first_pictures_seconds']:.1f} |"]
        parts += [f"| ... the atlas's first thumbnail (512 steps) | {s['first_seconds']:.1f} |",
                  f"| ... {SCREEN} atlas thumbnails (512 steps) | {s['screen_seconds']:.1f} |"]
        if s.get("busy_unit_first_picture_seconds") is not None:
            parts += [f"| then, while the atlas renders its second batch, the page of {LAYER}:{BUSY_UNIT}: its first "
                      f"picture, loaded | {s['busy_unit_first_picture_seconds']:.2f} |"]
    quality = result["first_pictures"]
    parts += ["", f"First pictures beside the atlas's: the first screen's {quality['units']} units of block8 rendered "
              f"at {result['screens'][0]['first_steps']} steps reach a median {100 * quality['median_share']:.0f}% "
              f"(lowest {100 * quality['min_share']:.0f}%) of the activation of their atlas picture at 512 steps "
              "(the sheet: rows of first pictures, each above the atlas's thumbnails of the same units).", "",
              "![First pictures above the atlas's](sheets/explorer-first-pictures.jpg)", "",
              f"Progress updates: the explorer's render of block8:12 (512 steps, a picture saved about twice a "
              f"second with its value; {median([float(u) for u in cost['updates']]):.0f} updates) took "
              f"{median(cost['shown_seconds']):.2f} s against {median(cost['plain_seconds']):.2f} s for the same "
              f"render without (medians of {len(cost['plain_seconds'])} alternated runs): "
              f"{100 * cost['overhead_share']:+.1f}% ({1000 * cost['seconds_per_update']:.1f} ms per update; the "
              "alternated runs of each differ by as much). Timed directly, one update (the picture saved as the page "
              f"reads it) takes {1000 * cost['one_update_seconds']:.1f} ms, "
              f"{100 * cost['one_update_seconds'] / 0.5:.1f}% of the half second of rendering between two updates.",
              "",
              "![The explorer's pages](sheets/explorer-pages.jpg)", ""]
    return parts


if __name__ == "__main__":
    arguments = [a for a in sys.argv[1:] if a != "--quick"]
    print(json.dumps(main(Path(arguments[0]), Path(arguments[1]), "--quick" in sys.argv)))
