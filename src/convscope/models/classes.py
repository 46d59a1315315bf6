"""Turning what a user types ("65", "sea snake", "Magpie") into a class index."""
from __future__ import annotations

from convscope.errors import OutOfRangeError, UnknownNameError, closest
from convscope.models.base import VisionModel
from convscope.models.labels import imagenet_descriptions, imagenet_synonyms

SHOW = 8


def class_names(model: VisionModel) -> list[tuple[str, ...]]:
    """Every name of each class: the model's label first, then for ImageNet WordNet's
    synonyms and the longer description."""
    if model.labels is None:
        raise OutOfRangeError(f"{model.name} has no class names: give a class index")
    names: list[tuple[str, ...]] = [(label,) for label in model.labels]
    if len(names) == 1000:
        names = [(label, *syn, desc) for (label,), syn, desc in zip(names, imagenet_synonyms(), imagenet_descriptions())]
    return names


def resolve_class(model: VisionModel, text: str | int) -> int:
    """The class index for an index or a name; lists the candidates when a name is ambiguous."""
    count = model.layer("logits").channels
    if isinstance(text, int) or str(text).strip().isdigit():
        k = int(text)
        if not 0 <= k < count:
            raise OutOfRangeError(f"class {k} is out of range: {model.name} has classes 0..{count - 1}")
        return k
    query = str(text).strip().lower()
    names = class_names(model)
    labelled = [i for i, n in enumerate(names) if n[0].lower() == query]
    if len(labelled) == 1:  # a class's own (unique) name wins over another's synonym
        return labelled[0]
    exact = [i for i, n in enumerate(names) if query in (s.lower() for s in n)]
    if len(exact) == 1:
        return exact[0]
    found = exact or [i for i, n in enumerate(names) if any(query in s.lower() for s in n)]
    if len(found) == 1:
        return found[0]
    if found:
        listed = ", ".join(f"{i} {names[i][0]!r}" for i in found[:SHOW])
        more = f" and {len(found) - SHOW} more" if len(found) > SHOW else ""
        raise UnknownNameError(f"class name {text!r} matches {len(found)} classes: {listed}{more}; "
                               "give the index or one of these names")
    flat = {s: i for i, n in enumerate(names) for s in n}
    near = closest(str(text), flat)
    hint = "did you mean " + ", ".join(f"{s!r} ({flat[s]})" for s in near) + "?" if near else \
        "give an index 0..999 or an ImageNet class name"
    raise UnknownNameError(f"unknown class {text!r}: {hint}")
