"""VGG16 from each weight-file layout, computed against an independent reference."""
from __future__ import annotations

import pickle

import pytest
import torch

from convscope import models
from convscope.cli import flag
from convscope.engine.objectives import class_logit
from convscope.errors import OutOfRangeError, WeightsError
from convscope.io.builtin_photos import builtin_photo
from convscope.models import vgg
from vgg_files import (
    Arrays,
    caffe,
    random_arrays,
    reference,
    torchvision_norm,
    write_keras03,
    write_keras1_th,
    write_keras2_tf,
    write_torchvision,
)

X = torch.rand(2, 3, 224, 224, generator=torch.Generator().manual_seed(1))


@pytest.fixture(scope="module")
def arrays(vgg16_arrays) -> Arrays:
    return vgg16_arrays


def logits(model) -> torch.Tensor:
    with torch.no_grad():
        return model.logits(X)


def assert_matches(model, expected: torch.Tensor) -> None:
    got = logits(model)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=1e-3, atol=1e-3 * float(expected.abs().max()))


def test_article_keras03_file_in_both_orientations(tmp_path, arrays):
    expected = reference(arrays, X, caffe)
    for stored_flipped, orientation in ((True, "flipped"), (False, "as-stored")):
        path = tmp_path / f"vgg16_weights_{orientation}.h5"
        write_keras03(path, arrays, stored_flipped)
        model = models.load("vgg16", weights=path, kernel_orientation=orientation)
        assert_matches(model, expected)
        other = "as-stored" if orientation == "flipped" else "flipped"
        wrong = logits(models.load("vgg16", weights=path, kernel_orientation=other))
        assert (wrong - expected).abs().max() > 0.1 * expected.abs().max()  # a missing flip is caught


def test_keras2_tf_file_nested_and_chunked(tmp_path, arrays):
    path = tmp_path / "vgg16_weights_tf_dim_ordering_tf_kernels.h5"
    write_keras2_tf(path, arrays, nested=True, chunked=True)
    model = models.load("vgg16", weights=path)
    assert_matches(model, reference(arrays, X, caffe))
    # the same weights with fc1's rows taken in torch's order would compute something else
    unpermuted = reference(arrays, X, caffe, flatten="hwc")
    assert (unpermuted - logits(model)).abs().max() > 0.1 * unpermuted.abs().max()


def test_keras1_th_notop_file(tmp_path):
    arrays = random_arrays(seed=3, classifier=False)
    path = tmp_path / "vgg16_weights_th_dim_ordering_th_kernels_notop.h5"
    write_keras1_th(path, arrays)
    model = models.load("vgg16", weights=path)
    assert "fc6" not in model.layers and model.labels is None
    with torch.no_grad():
        torch.testing.assert_close(model.net(model.preprocess(X)), reference(arrays, X, caffe), rtol=1e-3, atol=1e-2)
    with pytest.raises(Exception, match="logits"):
        class_logit(1).validate(model, 224)


def test_torchvision_checkpoint(arrays, vgg16_pth):
    model = models.load("vgg16", weights=vgg16_pth)
    assert_matches(model, reference(arrays, X, torchvision_norm))
    assert model.layer("block4_conv2").name == "conv4_2" and model.layer("predictions").name == "fc8"


def test_orientation_detection_picks_what_the_labelled_photo_says(tmp_path, arrays):
    """Random weights, a photo labelled with what the correctly oriented network answers:
    detection must choose the orientation that reproduces that answer."""
    photo = builtin_photo("chelsea").pixels

    for stored_flipped, expected in ((True, "flipped"), (False, "as-stored")):
        path = tmp_path / f"k03_{expected}.h5"
        write_keras03(path, arrays, stored_flipped)
        truth = models.load("vgg16", weights=path, kernel_orientation=expected)
        with torch.no_grad():
            label = int(truth.logits(truth.prepare(photo)).argmax())
        detected = vgg.build("vgg16", path, "auto", labelled=[(photo, frozenset({label}))])
        assert any(n.startswith(f"kernel orientation: {expected},") for n in detected.notes), detected.notes
        assert_matches(detected, logits(truth))


def test_class_objective_needs_224(vgg16_pth):
    model = models.load("vgg16", weights=vgg16_pth)
    with pytest.raises(OutOfRangeError, match="224"):
        class_logit(65).validate(model, 128)
    class_logit(65).validate(model, 224)


def test_vgg19_file_for_vgg16_says_what_differs(tmp_path):
    arrays = random_arrays(seed=1, classifier=False, cfg=(2, 2, 4, 4, 4))
    path = tmp_path / "vgg19_weights.h5"
    write_keras03(path, arrays, False, cfg=(2, 2, 4, 4, 4))
    with pytest.raises(WeightsError, match="16 conv and 0 dense layers; vgg16 has 13"):
        models.load("vgg16", weights=path)
    tv = tmp_path / "vgg19.pth"
    write_torchvision(tv, arrays, cfg=(2, 2, 4, 4, 4))
    with pytest.raises(WeightsError) as err:
        models.load("vgg16", weights=tv)
    assert "missing: features.17.weight" in str(err.value) and "unexpected: features.16.weight" in str(err.value)
    assert "features.19.weight (512, 256, 3, 3) (expected (512, 512, 3, 3))" in str(err.value)


def test_unknown_truncated_and_unsafe_files(tmp_path, arrays):
    text = tmp_path / "notes.h5"
    text.write_text("hello")
    with pytest.raises(WeightsError, match="none of the known layouts"):
        models.load("vgg16", weights=text)
    good = tmp_path / "k.h5"
    write_keras03(good, Arrays(arrays.convs, []), False)
    cut = tmp_path / "cut.h5"
    cut.write_bytes(good.read_bytes()[:5000])
    with pytest.raises(WeightsError, match="truncated or corrupt"):
        models.load("vgg16", weights=cut)

    class Evil:
        def __reduce__(self):
            return (print, ("this would run",))
    evil = tmp_path / "evil.pth"
    with open(evil, "wb") as f:
        pickle.dump({"features.0.weight": Evil()}, f)
    with pytest.raises(WeightsError, match="weights_only"):
        models.load("vgg16", weights=evil)


def test_offline_without_a_file_says_where_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("CONVSCOPE_CACHE", str(tmp_path))
    with pytest.raises(WeightsError) as err:
        models.load("vgg16")
    message = str(err.value)  # in the library's words the option is the parameter; on the command line its flag
    assert "vgg16-397923af.pth" in message and "with weights FILE" in message and "download.pytorch.org" in message
    assert "--weights FILE" in err.value.worded(flag)
    assert not list(tmp_path.iterdir())
