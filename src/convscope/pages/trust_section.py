"""The trust measures on a page: what they mean, and a unit's (or a concept's) numbers and path plot."""
from __future__ import annotations

from html import escape


def trust_note(trust: dict | None) -> str:
    """What the trust columns mean, when the atlas measured them."""
    if not trust:
        return ""
    return (f"<p>Path score: where a picture's path through the earlier layers stands between random photos' (0) "
            f"and the unit's top photos' (1). Choice: the share of {trust['trials']} two-alternative trials in which "
            f"a judge network ({escape(trust['judge'])}), shown the unit's picture, picks the photo that excites the "
            "unit more (0.5 is chance).</p>")


def choice_text(choice: dict) -> str:
    low, high = choice["interval"]
    return f"{choice['score']:.2f} ({choice['correct']} of {choice['trials']}; 95% interval {low:.2f}-{high:.2f})"


def trust_section(stem: str, trust: dict) -> str:
    """Whether the picture shows what the unit does on photos: the path score, its plot, and the
    machine's two-alternative choice with each kind of reference."""
    rows = [("path score (random photos 0, top photos 1)", "-" if trust["path_score"] is None else f"{trust['path_score']:.2f}"),
            ("two-alternative choice, its picture as reference", choice_text(trust["choice_pictures"])),
            ("... its top photos as references", choice_text(trust["choice_photos"])),
            ("... random photos as references (the observer's chance)", choice_text(trust["choice_random"]))]
    plot = (f"<figure><img src=\"{stem}.path.png\" alt=\"the path of its picture through the earlier layers\">"
            "<figcaption>its picture's path through the earlier layers beside its top photos' and random "
            "photos'</figcaption></figure>") if trust.get("path") else ""
    return ("<h2>Can its picture be trusted?</h2><div class=\"unit\">" + plot + "<table>"
            + "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows) + "</table></div>")
