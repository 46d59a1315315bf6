"""Each transform against a NumPy or Pillow reference for fixed parameters."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from convscope.transforms import Jitter, Pad, RandomRotate, RandomScale, lucid_transforms

rng = np.random.default_rng(0)
IMAGE = rng.random((2, 3, 37, 29)).astype(np.float32)


def test_pad_matches_numpy():
    out = Pad(5, value=0.5).apply(torch.from_numpy(IMAGE)).numpy()
    ref = np.pad(IMAGE, ((0, 0), (0, 0), (5, 5), (5, 5)), constant_values=0.5)
    np.testing.assert_array_equal(out, ref)


def test_jitter_matches_numpy_crop():
    out = Jitter(8).apply(torch.from_numpy(IMAGE), 3, 6).numpy()
    np.testing.assert_array_equal(out, IMAGE[..., 6:6 + 37 - 8, 3:3 + 29 - 8])


def test_jitter_draws_every_offset_in_range():
    gen = torch.Generator().manual_seed(0)
    offsets = {Jitter(2).draw(gen) for _ in range(200)}
    assert offsets == {(x, y) for x in range(3) for y in range(3)}


@pytest.mark.parametrize("scale", [0.9, 0.96, 1.04, 1.1])
def test_scale_matches_pillow_bilinear(scale):
    out = RandomScale([scale]).apply(torch.from_numpy(IMAGE), scale).numpy()
    h, w = out.shape[-2:]
    assert (h, w) == (round(37 * scale), round(29 * scale))
    ref = np.asarray(Image.fromarray(IMAGE[0, 1]).resize((w, h), Image.BILINEAR))
    np.testing.assert_allclose(out[0, 1], ref, atol=1e-4)


@pytest.mark.parametrize("angle", [-10, -3, 7, 90])
def test_rotate_matches_pillow_in_the_interior(angle):
    out = RandomRotate([angle], fill=0.0).apply(torch.from_numpy(IMAGE), angle).numpy()
    ref = np.asarray(Image.fromarray(IMAGE[1, 2]).rotate(angle, resample=Image.BILINEAR))
    np.testing.assert_allclose(out[1, 2][6:-6, 6:-6], ref[6:-6, 6:-6], atol=1e-4)


def test_rotate_fills_corners():
    out = RandomRotate([45], fill=0.25).apply(torch.ones(1, 1, 20, 20), 45)
    assert out[0, 0, 0, 0] == pytest.approx(0.25, abs=1e-6)


def test_lucid_transforms_are_seeded():
    x = torch.from_numpy(IMAGE)
    a = lucid_transforms()(x, torch.Generator().manual_seed(3))
    b = lucid_transforms()(x, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
