"""The trust measures on a page: what they mean, and a unit's (or a concept's) verdict, numbers,
controls and path plot."""
from __future__ import annotations

from html import escape


def trust_note(trust: dict | None) -> str:
    """What the trust columns mean and the verdict's rule, when the run measured them."""
    if not trust:
        return ""
    half_width = 1.96 * (0.25 / trust["trials"]) ** 0.5  # the choice's 95% interval at chance
    return ("<p>Path score: where a picture's path through the earlier layers stands between random photos' (0) "
            "and the unit's top photos' (1), with a 95% interval over the top photos; an image more uniform than "
            "any photo, such as noise, can stand above 1, so the verdict does not rest on it. "
            f"Choice: the share of {trust['trials']} two-alternative trials in which a judge network "
            f"({escape(trust['judge'])}, reading {escape(trust.get('judge_layer') or 'its last maps')}), shown the "
            "unit's picture, picks the photo that excites the unit more (0.5 "
            f"is chance; its 95% interval is about +-{half_width:.2f}). Controls: the same measures on the same "
            "trials with the recipe's starting noise and with other units' pictures as the references. "
            f"Verdict: {escape(trust['rule'])}</p>")


def choice_text(choice: dict) -> str:
    low, high = choice["interval"]
    return f"{choice['score']:.2f} ({choice['correct']} of {choice['trials']}; 95% interval {low:.2f}-{high:.2f})"


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def path_text(path: dict | None) -> str:
    """A path score with its 95% interval."""
    if path is None or path["mean_score"] is None:
        return "-"
    interval = path.get("interval")
    return _score(path["mean_score"]) + (f" (95% interval {interval[0]:.2f} to {interval[1]:.2f})" if interval else "")


def trust_section(stem: str, trust: dict) -> str:
    """Whether the picture shows what the unit does on photos: the verdict and its tests, the path
    score and its plot, and the machine's two-alternative choice with each kind of reference."""
    controls, verdict = trust["controls"], trust["verdict"]
    others = controls["other_units"]
    rows = [("verdict", f"<b>{escape(verdict['text'])}</b> ({escape(verdict['reason'])}; false-positive rate "
                        f"{verdict['false_positive']:g})"),
            ("path score (random photos 0, top photos 1)", path_text(trust["path"])),
            ("... of its starting noise", path_text(controls["noise"]["path"])),
            (f"... of {len(others['units'])} other units' pictures (median)", _score(others["median_path_score"])),
            ("two-alternative choice, its picture as reference", choice_text(trust["choice_pictures"])),
            ("... its starting noise as reference", choice_text(controls["noise"]["choice"])),
            (f"... {len(others['units'])} other units' pictures (median)", _score(others["median_choice"])),
            ("... its top photos as references", choice_text(trust["choice_photos"])),
            ("... random photos as references (the observer's chance)", choice_text(trust["choice_random"]))]
    if trust.get("judge_layer"):
        rows.append(("the judge read", f"its layer {escape(trust['judge_layer'])}"))
    plot = (f"<figure><img src=\"{stem}.path.png\" alt=\"the path of its picture through the earlier layers\">"
            "<figcaption>its picture's path through the earlier layers beside its starting noise's, its top "
            "photos' and random photos'</figcaption></figure>") if trust.get("path") else ""
    rule = f"<p>{escape(verdict['rule'])}</p>" if verdict.get("rule") else ""
    return ("<h2>Can its picture be trusted?</h2><div class=\"unit\">" + plot + "<div><table>"
            + "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows) + "</table>" + rule + "</div></div>")
