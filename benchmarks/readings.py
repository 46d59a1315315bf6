"""What a person wrote about the numbers, kept apart from what ``python -m benchmarks`` generates.

In BENCHMARKS.md a section may end with a reading, written by hand after looking at its
numbers, between ``<!-- reading -->`` and ``<!-- /reading -->``. Regenerating the document
keeps each reading at the end of its section (found by the section's number). When a section
is measured again, its reading is kept with a line saying that it was written for the earlier
numbers, until a person reads the new ones and removes that line.
"""
from __future__ import annotations

import re

OPEN, CLOSE = "<!-- reading -->", "<!-- /reading -->"
STALE = "_Written for an earlier run of this section: check it against the numbers above._"
_SECTION = re.compile(r"^## (\d+)\.", re.M)


def readings(document: str) -> dict[int, str]:
    """Each section's reading in ``document``, by the section's number (without the markers)."""
    found: dict[int, str] = {}
    starts = [(m.start(), int(m.group(1))) for m in _SECTION.finditer(document)]
    for index, (start, number) in enumerate(starts):
        end = starts[index + 1][0] if index + 1 < len(starts) else len(document)
        block = re.search(re.escape(OPEN) + r"\n(.*?)\n" + re.escape(CLOSE), document[start:end], re.S)
        if block:
            found[number] = block.group(1).strip()
    return found


def with_readings(document: str, kept: dict[int, str], rerun: set[int]) -> str:
    """``document`` (generated, without readings) with each kept reading at the end of its
    section; the readings of the sections in ``rerun`` are marked as written for earlier numbers."""
    starts = [(m.start(), int(m.group(1))) for m in _SECTION.finditer(document)]
    if not starts:
        return document
    parts = [document[:starts[0][0]]]
    for index, (start, number) in enumerate(starts):
        end = starts[index + 1][0] if index + 1 < len(starts) else len(document)
        parts.append(document[start:end].rstrip("\n") + "\n")
        if number in kept:
            text = kept[number]
            if number in rerun and STALE not in text:
                text = f"{STALE}\n\n{text}"
            parts.append(f"\n{OPEN}\n{text}\n{CLOSE}\n")
        parts.append("\n")
    return "".join(parts).rstrip("\n") + "\n"
