"""A photo folder for the concepts benchmarks: random crops, flips and rescales of the ten
colour photos that ship with scikit-image and scikit-learn (astronaut, chelsea, coffee, rocket,
china, flower, motorcycle, hubble deep field, retina, immunohistochemistry), as JPEG."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

EXTRA = ("motorcycle_left.png", "hubble_deep_field.jpg", "retina.jpg", "ihc.png")


def base_photos() -> list[np.ndarray]:
    """The ten colour photos, (H, W, 3) uint8."""
    import skimage.data

    from convscope.io.builtin_photos import builtin_photos

    folder = Path(skimage.data.__file__).parent
    extra = [np.asarray(Image.open(folder / name).convert("RGB")) for name in EXTRA]
    return [p.pixels for p in builtin_photos()] + extra


def make_photos(folder: Path, count: int, seed: int = 0) -> Path:
    """``count`` 320 x 240 JPEGs in ten subfolders."""
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
        Image.fromarray(np.ascontiguousarray(crop)).resize((320, 240)).save(sub / f"{i:06d}.jpg", quality=90)
    return folder


if __name__ == "__main__":
    make_photos(Path(sys.argv[1]), int(sys.argv[2]))
