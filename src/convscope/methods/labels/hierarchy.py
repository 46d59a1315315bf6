"""The candidate labels of a photo folder: its classes, and the groups of them that a WordNet
synset above them names (ImageNet-1k's ancestry ships in ``imagenet_wordnet.json``, built by
``scripts/build_imagenet_wordnet.py``; no download)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources


@dataclass(frozen=True)
class Group:
    """A candidate label: its name, the synset that names it (None for a class that is not a
    WordNet synset), and the positions of the folder's classes it holds."""

    name: str
    synset: str | None
    classes: tuple[int, ...]


@lru_cache(maxsize=1)
def wordnet() -> dict:
    """The shipped table: ``classes`` (ImageNet-1k's synsets by class index) and ``synsets``
    (key -> {"name", "parents"}) for every synset above them."""
    text = resources.files("convscope.methods.labels").joinpath("imagenet_wordnet.json").read_text()
    return json.loads(text)


def imagenet_synset(index: int) -> str:
    """ImageNet-1k class ``index``'s WordNet synset (n + noun offset)."""
    return wordnet()["classes"][index]


def is_synset(key: str) -> bool:
    """Whether ``key`` is a synset of the shipped table (an ImageNet-1k class or one above them)."""
    return key in wordnet()["synsets"]


def ancestors(key: str) -> set[str]:
    """``key`` and every synset above it (through all its hypernyms); just ``key`` when it is not
    a synset of the table."""
    synsets = wordnet()["synsets"]
    seen: set[str] = set()
    todo = [key]
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo += synsets.get(current, {}).get("parents", [])
    return seen


@lru_cache(maxsize=None)
def depth(key: str) -> int:
    """The longest path from ``key`` up to a synset with no hypernym (0 for that synset)."""
    parents = wordnet()["synsets"].get(key, {}).get("parents", [])
    return 1 + max(depth(p) for p in parents) if parents else 0


def synset_name(key: str) -> str:
    """The synset's first name ("dog"), or ``key`` itself when it is not in the table."""
    return wordnet()["synsets"].get(key, {}).get("name", key)


def candidate_groups(classes: list[str], names: list[str]) -> list[Group]:
    """Every distinct group of the folder's classes that a label can name: each class, and each
    synset above some class, holding the classes under it. Where several synsets hold the same
    classes, the most specific (the deepest) names the group.

    Args:
        classes: the folder's classes as keys (a synset such as ``n02085620``, or any name).
        names: the classes' names, as shown (for a class, its own name names its group).
    Returns:
        The groups, each set of classes once, in a fixed order (by size, then name).
    """
    holders: dict[str, set[int]] = {}
    for position, key in enumerate(classes):
        for synset in ancestors(key):
            holders.setdefault(synset, set()).add(position)
    own = {key: position for position, key in enumerate(classes)}
    best: dict[tuple[int, ...], tuple[int, str]] = {}
    for synset, held in holders.items():
        members = tuple(sorted(held))
        rank = (depth(synset) + (1000 if synset in own else 0), synset)  # a class names its own group
        if members not in best or rank > best[members]:
            best[members] = rank
    groups = [Group(names[own[s]] if s in own else synset_name(s), s if is_synset(s) else None, members)
              for members, (_rank, s) in best.items()]
    return sorted(groups, key=lambda g: (len(g.classes), g.name))
