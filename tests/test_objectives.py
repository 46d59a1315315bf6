"""Objectives: values on real activations, arithmetic, descriptions, text form."""
from __future__ import annotations

import pytest
import torch

import convscope
from convscope.engine import objectives as obj
from convscope.engine.objective_text import parse_objective
from convscope.errors import ObjectiveSyntaxError, OutOfRangeError, UnknownNameError
from convscope.models.probe import Probe

pytestmark = pytest.mark.fast  # `make check` runs this file


@pytest.fixture(scope="module")
def acts(model):
    x = torch.rand(3, 3, 96, 96, generator=torch.Generator().manual_seed(0))
    with torch.no_grad(), Probe(model, ["block8", "logits"]) as probe:
        return probe(x)


def test_channel_neuron_layer_values(acts):
    a = acts["block8"]
    torch.testing.assert_close(obj.channel("block8", 5)(acts), a[:, 5].mean(dim=(1, 2)))
    torch.testing.assert_close(obj.neuron("block8", 5)(acts), a[:, 5, 3, 3])
    torch.testing.assert_close(obj.neuron("block8", 5, x=1, y=2)(acts), a[:, 5, 2, 1])
    torch.testing.assert_close(obj.layer("block8")(acts), a.pow(2).sum(dim=(1, 2, 3)))


def test_class_objectives(acts):
    logits = acts["logits"]
    torch.testing.assert_close(obj.class_logit(65)(acts), logits[:, 65])
    torch.testing.assert_close(obj.class_prob(65)(acts), logits.softmax(1)[:, 65])


def test_direction_is_a_weighted_channel_sum(acts):
    vec = torch.zeros(112)
    vec[4], vec[9] = 2.0, -1.0
    expected = 2 * obj.channel("block8", 4)(acts) - obj.channel("block8", 9)(acts)
    torch.testing.assert_close(obj.direction("block8", vec)(acts), expected)


def test_diversity_follows_lucids_definition(acts):
    a = acts["block8"]
    b = a.shape[0]
    flat = a.reshape(b, a.shape[1], -1)
    grams = [g / g.norm() for g in flat @ flat.transpose(1, 2)]
    expected = torch.stack([-sum((grams[i] * grams[j]).sum() for j in range(b) if j != i) / b for i in range(b)])
    torch.testing.assert_close(obj.diversity("block8")(acts), expected)


def test_arithmetic_values_and_layers(acts):
    a, b = obj.channel("block8", 1), obj.channel("logits", 3)
    combo = 2 * a - b / 4 + 1
    torch.testing.assert_close(combo(acts), 2 * a(acts) - b(acts) / 4 + 1)
    assert combo.layers == ("block8", "logits")
    torch.testing.assert_close((-a)(acts), -a(acts))
    torch.testing.assert_close((3 - a)(acts), 3 - a(acts))


def test_descriptions_are_readable():
    a, b = obj.channel("block8", 12), obj.channel("block8", 40)
    assert str(a - 0.5 * b) == "block8:12 - 0.5 * block8:40"
    assert str((a + b) * 2) == "(block8:12 + block8:40) * 2"
    assert str(a - (b - a)) == "block8:12 - (block8:40 - block8:12)"


@pytest.mark.parametrize("text, description", [
    ("block8:12", "block8:12"),
    ("block8:12 - 0.5*block8:40", "block8:12 - 0.5 * block8:40"),
    ("logits:65", "logits:65"),
    ("prob(18)", "prob(18)"),
    ("block8:3@1,2", "block8:3@1,2"),
    ("block8", "layer(block8)"),
    ("neuron(block8, 3)", "block8:3@c"),
    ("-(block3:1 + block3:2) / 2", "-(block3:1 + block3:2) / 2"),
    ("block8:1 + 1e-2*diversity(block8)", "block8:1 + 0.01 * diversity(block8)"),
])
def test_parse(text, description):
    assert str(parse_objective(text)) == description


def test_parsed_text_computes_the_same(acts):
    parsed = parse_objective("block8:12 - 0.5*block8:40")
    built = obj.channel("block8", 12) - 0.5 * obj.channel("block8", 40)
    torch.testing.assert_close(parsed(acts), built(acts))


@pytest.mark.parametrize("text, column", [("block8:12 - *3", 13), ("block8:", 8), ("block8:1.5", 8),
                                          ("block8:1 block9:2", 10), ("a$b", 2), ("(block8:1", 10)])
def test_parse_errors_point_at_the_bad_part(text, column):
    with pytest.raises(ObjectiveSyntaxError, match=f"column {column}"):
        parse_objective(text)


def test_validation_before_computation(model):
    with pytest.raises(UnknownNameError, match="block8"):
        parse_objective("blok8:1").validate(model, 128)
    with pytest.raises(OutOfRangeError, match="112 channels"):
        parse_objective("block8:112").validate(model, 128)
    with pytest.raises(OutOfRangeError, match="1000 channels"):
        obj.class_logit(1000).validate(model, 128)


@pytest.mark.parametrize("shape", [(5, 7, 6, 4), (5, 9)])
def test_a_layers_units_are_scored_in_one_gather_with_the_same_values_and_gradients(shape):
    from convscope.engine.batch import slot_scorer

    def slot_scores(objectives, acts):
        return slot_scorer(objectives, acts["L"].device)(acts)

    acts = torch.randn(shape, generator=torch.Generator().manual_seed(0))
    objectives = [obj.channel("L", n) for n in (3, 0, 3, 6, 1)]
    one_by_one = torch.stack([o({"L": acts})[i] for i, o in enumerate(objectives)])
    gathered_input = acts.clone().requires_grad_(True)
    gathered = slot_scores(objectives, {"L": gathered_input})
    assert torch.allclose(gathered, one_by_one, atol=1e-6)
    gathered.sum().backward()
    reference_input = acts.clone().requires_grad_(True)
    torch.stack([o({"L": reference_input})[i] for i, o in enumerate(objectives)]).sum().backward()
    assert torch.equal(gathered_input.grad, reference_input.grad)
    mixed = objectives[:4] + [obj.channel("L", 1) * 2]  # not a plain channel: scored one by one
    assert slot_scores(mixed, {"L": acts})[4] == pytest.approx(2 * float(one_by_one[4]))


def test_image_penalties_are_lower_for_smoother_images(model):

    gen = torch.Generator().manual_seed(0)
    noisy = torch.rand(1, 3, 48, 48, generator=gen)
    smooth = torch.nn.functional.avg_pool2d(noisy, 5, stride=1, padding=2, count_include_pad=False)
    flat = torch.full((1, 3, 48, 48), 0.5)
    images = torch.cat([noisy, smooth, flat])
    penalties = [parse_objective(t) for t in ("l1()", "tv()", "blur()", "total_variation()")]
    with Probe(model, ["input"]) as probe:
        acts = probe(images)
    for p in penalties:
        values = p(acts)
        assert values[0] > values[1] > values[2] - 1e-9 and float(values[2]) == pytest.approx(0, abs=1e-6)
    tv = parse_objective("tv()")(acts)[0]
    x = images[0]
    expected = (x[:, 1:] - x[:, :-1]).abs().mean() + (x[:, :, 1:] - x[:, :, :-1]).abs().mean()
    assert float(tv) == pytest.approx(float(expected), rel=1e-5)


def test_a_penalty_in_the_loop_smooths_the_picture(model):
    recipe = convscope.get_recipe("lucid", steps=24, size=48)
    plain = convscope.render(model, "block3:1", recipe)
    smoothed = convscope.render(model, "block3:1 - 300*tv()", recipe)
    def variation(x):
        return float((x[..., 1:, :] - x[..., :-1, :]).abs().mean() + (x[..., 1:] - x[..., :-1]).abs().mean())
    assert variation(smoothed.images) < 0.8 * variation(plain.images)


def test_group_interpolate_and_alignment_against_plain_arithmetic():
    acts = {"block8": torch.randn(4, 6, 3, 3)}
    means = acts["block8"].flatten(2).mean(dim=2)
    assert torch.allclose(parse_objective("group(block8,1,3,5)")(acts), means[:, [1, 3, 5]].sum(dim=1))
    t = torch.tensor([0, 1 / 3, 2 / 3, 1])
    assert torch.allclose(parse_objective("channel_interpolate(block8,1,block8,4)")(acts),
                          (1 - t) * means[:, 1] + t * means[:, 4])
    flat = acts["block8"].flatten(1)
    total = sum(((flat[a] - flat[a + d]) ** 2).mean() / 2 ** d for d in range(1, 4) for a in range(4 - d))
    assert float(parse_objective("alignment(block8)")(acts).sum()) == pytest.approx(-float(total), rel=1e-5)
