"""Each transform against a NumPy or Pillow reference for fixed parameters."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from convscope.transforms import Jitter, Pad, RandomCrops, RandomRotate, RandomScale, lucid_transforms

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


def test_crops_equal_grid_sample_at_twice_the_size_averaged_down():
    """The crops' matrix resampling is grid_sample (bilinear, reflection) at 2x then 2x2
    average pooling, for crops inside the image, the whole image, and crops past its edge."""
    crops = RandomCrops(views=4, size=(24, 20), scale=0.8, noise=0.0)
    theta = torch.zeros(4, 2, 3)
    theta[:, 0, 0] = torch.tensor([0.7, 1.0, 1.3, 0.35])
    theta[:, 1, 1] = torch.tensor([0.6, 1.0, 1.2, 0.5])
    theta[:, :, 2] = torch.tensor([[0.2, -0.3], [0.0, 0.0], [0.4, 0.5], [-0.6, 0.45]])
    x = torch.rand(2, 3, 37, 50, generator=torch.Generator().manual_seed(0), requires_grad=True)
    ours = crops.apply(x, theta, torch.zeros(4, 3, 24, 20))
    grid = F.affine_grid(theta, [4, 3, 48, 40], align_corners=False)
    sampled = F.grid_sample(x.reshape(1, 6, 37, 50).expand(4, -1, -1, -1), grid, mode="bilinear",
                            padding_mode="reflection", align_corners=False)
    expected = F.avg_pool2d(sampled, 2).view(4, 2, 3, 24, 20).transpose(0, 1).reshape(8, 3, 24, 20)
    torch.testing.assert_close(ours, expected, atol=2e-5, rtol=0)
    weights = torch.rand(8, 3, 24, 20, generator=torch.Generator().manual_seed(1))
    (ours_grad,) = torch.autograd.grad((ours * weights).sum(), x)
    (expected_grad,) = torch.autograd.grad((expected * weights).sum(), x)
    torch.testing.assert_close(ours_grad, expected_grad, atol=1e-4, rtol=0)
