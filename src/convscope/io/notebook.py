"""Results that show themselves in Jupyter: small HTML tables and inline pictures."""
from __future__ import annotations

import base64
from html import escape
from typing import Any, Mapping, Sequence

from convscope.io.picture import Picture


def picture_html(picture: Picture, width: int | None = None) -> str:
    """An <img> holding ``picture`` as an inline PNG, ``width`` px wide if given."""
    data = base64.b64encode(picture._repr_png_()).decode("ascii")
    size = f' width="{width}"' if width else ""
    return f'<img src="data:image/png;base64,{data}"{size}>'


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return escape(str(value))


def table_html(caption: str, rows: Sequence[Mapping[str, Any]]) -> str:
    """A table with one row per mapping (the columns of the first), under ``caption``."""
    columns = list(rows[0]) if rows else []
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_cell(row.get(c))}</td>" for c in columns) + "</tr>" for row in rows)
    return f"<table><caption>{escape(caption)}</caption><tr>{head}</tr>{body}</table>"


def fields_html(caption: str, fields: Mapping[str, Any]) -> str:
    """A two-column table of names and values, under ``caption``."""
    return table_html(caption, [{"": name, "value": value} for name, value in fields.items()])
