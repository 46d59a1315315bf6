"""The first convolution shown as its kernels and its centre neuron; ratios after the network's own ReLU6."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

import convscope
from convscope.cli import main
from convscope.io.builtin_photos import builtin_photos
from convscope.methods.kernels import kernel_pictures, rgb_kernels


def test_kernels_are_the_weights_seen_from_the_rgb_image(model):
    kernels = rgb_kernels(model)
    weight = model.first_conv_module.weight.detach()
    assert kernels.shape == weight.shape == (32, 3, 3, 3)
    assert torch.allclose(kernels, weight * 255 / 128, atol=1e-5)  # the input is (x*255-127)/128
    pictures = kernel_pictures(model, 96)
    assert len(pictures) == 32 and pictures[0].size == (96, 96)
    big = np.asarray(pictures[5]).astype(float)
    k = kernels[5]
    expected = 0.5 + 0.5 * k / k.abs().max()
    assert np.allclose(big[::32, ::32] / 255, expected.permute(1, 2, 0).numpy(), atol=1 / 255)


def test_vgg_kernels_undo_the_caffe_colour_order(tmp_path, vgg16_arrays):
    from vgg_files import write_keras2_tf

    path = tmp_path / "vgg16_weights_tf_dim_ordering_tf_kernels.h5"
    write_keras2_tf(path, vgg16_arrays)
    vgg = convscope.load("vgg16", weights=path)
    kernels = rgb_kernels(vgg)
    weight = vgg.first_conv_module.weight.detach()
    assert torch.allclose(kernels, weight.flip(1) * 255, atol=1e-4)  # BGR 0..255 input


def test_first_layer_pictures_are_centre_neurons_with_kernels(model, tmp_path, capsys):
    out = tmp_path / "stem.png"
    code = main(["filter", "efficientnet-lite0", "stem", "4", "-o", str(out), "--steps", "4", "--size", "64",
                 "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["objective"] == "stem:4@c" and data["kernel"] == str(tmp_path / "stem.kernel.png")
    assert Image.open(tmp_path / "stem.kernel.png").size == (64, 64)
    code = main(["grid", "efficientnet-lite0", "stem", "-o", str(tmp_path / "g.png"), "--recipe", "keras2016",
                 "--candidates", "8", "--top", "4", "--size", "48", "--json"])
    rows = json.loads(capsys.readouterr().out)
    sidecar = json.loads((tmp_path / "g.png.json").read_text())
    assert code == 0 and Image.open(rows[0]["kernels"]).size == Image.open(tmp_path / "g.png").size
    assert "centre neuron" in sidecar["objective"] and "peak" in sidecar["photo_max"]
    # a neuron picture is not a flat colour: its pixels vary around the centre
    picture = np.asarray(Image.open(out)).astype(float)
    assert picture[24:40, 24:40].std() > 5


def test_stats_of_the_head_report_the_ratio_after_relu6(model, capsys):
    code = main(["stats", "efficientnet-lite0", "head", "--units", "0-2", "--steps", "8", "--size", "64", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["read"] == "before its ReLU6" and data["after"] == "ReLU6"
    for row in data["units"]:
        assert 0 <= row["activation_after"] <= 6 and row["photo_max_after"] <= 6
        if row["ratio_after"] is not None:
            assert row["ratio_after"] == pytest.approx(row["activation_after"] / row["photo_max_after"])
    code = main(["stats", "efficientnet-lite0", "block3", "--units", "0", "--steps", "2", "--size", "48", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert data["after"] is None and "ratio_after" not in data["units"][0]


def test_photo_peaks_after_relu6_are_capped(model):
    from convscope.data.photo_stats import photo_statistics

    stats = photo_statistics(model, ["head"], builtin_photos()[:2])["head"]
    assert float(stats.best(peak=True, after=True).max()) <= 6 and float(stats.best(peak=True).max()) > 6
