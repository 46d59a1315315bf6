"""The one page helper: a page's HTML around a body, with the shared style, written whole."""
from __future__ import annotations

from html import escape
from pathlib import Path

from convscope.io.files import atomic_path

STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;background:#111;color:#ddd}
a{color:#9cf} h1,h2{font-weight:500} table{border-collapse:collapse}
td,th{padding:2px 10px;text-align:left;border-bottom:1px solid #333}
.grid{display:flex;flex-wrap:wrap;gap:3px} .grid a{display:block;position:relative}
.grid img{width:64px;height:64px;display:block;background:#222}
.grid span{position:absolute;left:2px;bottom:1px;font-size:10px;color:#fff;text-shadow:0 0 2px #000}
.unit img.big{width:256px;height:256px;image-rendering:auto}
.crops{display:flex;gap:8px;flex-wrap:wrap} .crops figure{margin:0;width:96px}
.crops img{width:96px;height:96px;display:block} .crops figcaption{font-size:11px;color:#aaa;overflow-wrap:anywhere}
.unit{display:flex;gap:12px;align-items:flex-start} .unit figure{margin:0} .unit figcaption{font-size:12px;color:#aaa}
.checker{background:repeating-conic-gradient(#555 0 25%,#777 0 50%) 0 0/16px 16px}
nav a{margin-right:1em}
"""


def write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def page(title: str, body: str) -> str:
    return (f"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><style>{STYLE}</style></head>\n<body>\n{body}\n</body></html>\n")
