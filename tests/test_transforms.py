"""Each transform against a NumPy or Pillow reference for fixed parameters."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from convscope.engine.transforms import LucidTransforms, RandomCrops, rotate

pytestmark = pytest.mark.fast  # `make check` runs this file


rng = np.random.default_rng(0)
IMAGE = rng.random((2, 3, 37, 29)).astype(np.float32)


def test_lucid_transforms_without_a_move_give_the_image_back():
    x = torch.from_numpy(IMAGE)
    # pad 12, jitter 8 and 4, the picture's centre kept: offsets 4 and 2 are no move
    torch.testing.assert_close(LucidTransforms().transform(x, 4, 4, 1.0, 0, 2, 2), x, atol=1e-5, rtol=0)


def test_lucid_transforms_jitter_shifts_and_fills_with_grey():
    out = LucidTransforms().transform(torch.from_numpy(IMAGE), 7, 0, 1.0, 0, 2, 4).numpy()
    # x: 7 + 2 is 3 past the centre, the view shows the image 3 to the right;
    # y: 0 + 4 is 2 before it, the first 2 rows come from the grey padding
    ref = np.pad(IMAGE, ((0, 0), (0, 0), (2, 0), (0, 3)), constant_values=0.5)[..., :37, 3:]
    np.testing.assert_allclose(out, ref, atol=1e-5)


@pytest.mark.parametrize("ox, oy, scale, angle, ox_after, oy_after",
                         [(3, 5, 1.06, 7, 1, 3), (8, 2, 0.94, -10, 2, 2), (2, 6, 1.1, 0, 3, 1)])
def test_lucid_transforms_equal_the_steps_one_by_one(ox, oy, scale, angle, ox_after, oy_after):
    """One resampling equals Lucid's steps done one after another with Pillow (pad, crop,
    bilinear resize, bilinear rotate, crop) and the centre cut out, on a smooth image
    (where resampling twice and once agree), in the middle, away from the grey border."""
    h, w = 48, 48
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    image = (0.5 + 0.2 * np.sin(xs / 5) * np.cos(ys / 7) + 0.003 * (xs - ys)).astype(np.float32)
    padded = np.pad(image, 12, constant_values=0.5)[oy:oy + h + 16, ox:ox + w + 16]
    side = round((w + 16) * scale)
    scaled = Image.fromarray(padded).resize((side, side), Image.BILINEAR)
    turned = np.asarray(scaled.rotate(angle, resample=Image.BILINEAR, fillcolor=0.5))
    cut = turned[oy_after:oy_after + side - 4, ox_after:ox_after + side - 4]
    start = (side - 4 - h) // 2
    assert (side - 4 - h) % 2 == 0  # a whole-pixel centre, as the one-step map has in general
    ref = cut[start:start + h, start:start + w]
    out = LucidTransforms().transform(torch.from_numpy(image)[None, None], ox, oy, scale, angle, ox_after,
                                  oy_after)[0, 0].numpy()
    np.testing.assert_allclose(out[10:-10, 10:-10], ref[10:-10, 10:-10], atol=0.01)


def test_lucid_transforms_keep_the_image_size_and_are_seeded():
    x = torch.from_numpy(IMAGE)
    a = LucidTransforms()(x, torch.Generator().manual_seed(3))
    b = LucidTransforms()(x, torch.Generator().manual_seed(3))
    assert a.shape == x.shape
    assert torch.equal(a, b)


@pytest.mark.parametrize("angle", [-10, -3, 7, 90])
def test_rotate_matches_pillow_in_the_interior(angle):
    out = rotate(torch.from_numpy(IMAGE), angle, fill=0.0).numpy()
    ref = np.asarray(Image.fromarray(IMAGE[1, 2]).rotate(angle, resample=Image.BILINEAR))
    np.testing.assert_allclose(out[1, 2][6:-6, 6:-6], ref[6:-6, 6:-6], atol=1e-4)


def test_rotate_fills_corners():
    out = rotate(torch.ones(1, 1, 20, 20), 45, fill=0.25)
    assert out[0, 0, 0, 0] == pytest.approx(0.25, abs=1e-6)


def test_crops_equal_grid_sample_at_twice_the_size_averaged_down():
    """The crops' matrix resampling is grid_sample (bilinear, reflection) at 2x then 2x2
    average pooling, for crops inside the image, the whole image, and crops past its edge."""
    crops = RandomCrops(views=4, size=(24, 20), scale=0.8, noise=0.0)
    theta = torch.zeros(4, 2, 3)
    theta[:, 0, 0] = torch.tensor([0.7, 1.0, 1.3, 0.35])
    theta[:, 1, 1] = torch.tensor([0.6, 1.0, 1.2, 0.5])
    theta[:, :, 2] = torch.tensor([[0.2, -0.3], [0.0, 0.0], [0.4, 0.5], [-0.6, 0.45]])
    x = torch.rand(2, 3, 37, 50, generator=torch.Generator().manual_seed(0), requires_grad=True)
    ours = crops.transform(x, theta, torch.zeros(4, 3, 24, 20))
    grid = F.affine_grid(theta, [4, 3, 48, 40], align_corners=False)
    sampled = F.grid_sample(x.reshape(1, 6, 37, 50).expand(4, -1, -1, -1), grid, mode="bilinear",
                            padding_mode="reflection", align_corners=False)
    expected = F.avg_pool2d(sampled, 2).view(4, 2, 3, 24, 20).transpose(0, 1).reshape(8, 3, 24, 20)
    torch.testing.assert_close(ours, expected, atol=2e-5, rtol=0)
    weights = torch.rand(8, 3, 24, 20, generator=torch.Generator().manual_seed(1))
    (ours_grad,) = torch.autograd.grad((ours * weights).sum(), x)
    (expected_grad,) = torch.autograd.grad((expected * weights).sum(), x)
    torch.testing.assert_close(ours_grad, expected_grad, atol=1e-4, rtol=0)
