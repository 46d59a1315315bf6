"""The benchmarks' photo folders, made from the photos that ship with convscope, scikit-image
and scikit-learn (no download):

- ``augmented_photos``: as many photos as asked, random crops and flips of the ten colour photos
  of scikit-image and scikit-learn (astronaut, chelsea, coffee, rocket, china, flower,
  motorcycle, hubble deep field, retina, immunohistochemistry), as JPEG in ten class folders, at
  320 x 240 or another size (500 x 375 is ImageNet's typical one);
- ``distinct_photos``: every photo of scikit-image and scikit-learn once (and Debian's wallpapers
  when given), for measures that need different images.

``python -m benchmarks.photos DIR COUNT [WIDTHxHEIGHT]`` writes an augmented folder.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

SKIMAGE = ("astronaut.png", "brick.png", "camera.png", "cell.png", "chelsea.png", "clock_motion.png", "coffee.png",
           "coins.png", "grass.png", "gravel.png", "hubble_deep_field.jpg", "ihc.png", "microaneurysms.png",
           "moon.png", "motorcycle_left.png", "page.png", "retina.jpg", "rocket.jpg", "text.png", "color.png")
LONGEST = 480  # the longer side of a distinct photo, in px
EXTRA = ("motorcycle_left.png", "hubble_deep_field.jpg", "retina.jpg", "ihc.png")  # beside the built-in six


def base_photos() -> list[np.ndarray]:
    """The ten colour photos, (H, W, 3) uint8."""
    import skimage.data

    from convscope.io.builtin_photos import builtin_photos

    folder = Path(skimage.data.__file__).parent
    extra = [np.asarray(Image.open(folder / name).convert("RGB")) for name in EXTRA]
    return [p.pixels for p in builtin_photos()] + extra


def augmented_photos(folder: Path, count: int, size: tuple[int, int] = (320, 240), seed: int = 0) -> Path:
    """``count`` JPEGs of ``size`` (width, height) in ten subfolders of ``folder``."""
    rng = np.random.default_rng(seed)
    photos = base_photos()
    for i in range(count):
        pixels = photos[i % len(photos)]
        h, w = pixels.shape[:2]
        side = rng.uniform(0.25, 0.9)
        ch, cw = int(h * side), int(min(w, h * side * 4 / 3))
        top, left = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
        crop = pixels[top:top + ch, left:left + cw]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        sub = folder / f"s{i % 10}"
        sub.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.ascontiguousarray(crop)).resize(size).save(sub / f"{i:06d}.jpg", quality=90)
    return folder


def distinct_photos(folder: Path, wallpapers: Path | None = None) -> Path:
    """Every image once, as JPEG at most LONGEST px on its longer side; ``wallpapers`` is the
    folder of Debian's plasma-workspace-wallpapers package unpacked
    (``apt-get download plasma-workspace-wallpapers; dpkg-deb -x *.deb DIR``)."""
    import skimage.data
    from sklearn.datasets import load_sample_images

    folder.mkdir(parents=True, exist_ok=True)
    skimage_folder = Path(skimage.data.__file__).parent
    images: dict[str, Image.Image] = {name.split(".")[0]: Image.open(skimage_folder / name) for name in SKIMAGE}
    for name, pixels in zip(("china", "flower"), load_sample_images().images):
        images[name] = Image.fromarray(pixels)
    if wallpapers is not None:
        for images_dir in sorted(wallpapers.glob("usr/share/wallpapers/*/contents/images")):
            sizes = sorted(images_dir.glob("*.jpg")) + sorted(images_dir.glob("*.png"))
            if sizes:
                pick = min(sizes, key=lambda p: abs(int(p.stem.split("x")[0]) - 1920) if p.stem[0].isdigit() else 10**6)
                images[f"wallpaper-{images_dir.parent.parent.name}"] = Image.open(pick)
    for name, image in images.items():
        image = image.convert("RGB")
        image.thumbnail((LONGEST, LONGEST))
        image.save(folder / f"{name}.jpg", quality=92)
    return folder


if __name__ == "__main__":
    width, height = (int(v) for v in (sys.argv[3] if len(sys.argv) > 3 else "320x240").split("x"))
    augmented_photos(Path(sys.argv[1]), int(sys.argv[2]), (width, height))
