"""Build hooks of the documentation site: the repository's own files the pages show.

The home page and the gallery are the README (its gallery section, for the gallery page); the
benchmarks page shows BENCHMARKS.md as the benchmarks wrote it; the contact sheets stay in the
repository's ``sheets/`` folder, where the benchmarks write them. All are read from the
repository at build time, so the site holds no second copy that could go stale.
"""
from __future__ import annotations

import re
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

MARKER = re.compile(r"<!-- include (README\.md|BENCHMARKS\.md)(?: section (.+?))? -->")


def _root(config: MkDocsConfig) -> Path:
    return Path(config.config_file_path).resolve().parent


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Adds the repository's sheets/ to the site, at sheets/."""
    root = _root(config)
    for path in sorted((root / "sheets").glob("*")):
        if path.suffix in {".png", ".jpg"}:
            files.append(File(f"sheets/{path.name}", str(root), config.site_dir, config.use_directory_urls))
    return files


def as_page(text: str) -> str:
    """A repository file's Markdown as a page of the site (which is docs/): without its title,
    links into docs/ made relative to it, and links outside it shown as names."""
    body = text.split("\n", 1)[1]
    body = body.replace("](docs/", "](").replace("](BENCHMARKS.md)", "](benchmarks.md)")
    return re.sub(r"\[`([^`]+)`\]\((?!https?:)[^)]*\.ipynb\)", r"`\1`", body)


def section(text: str, title: str) -> str:
    """The ``## title`` section of ``text``, without its heading."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    if match is None:
        raise ValueError(f"no section {title!r}")
    return match.group(1)


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Replaces each ``<!-- include FILE [section TITLE] -->`` with that file (or section)."""
    def include(match: re.Match) -> str:
        text = as_page((_root(config) / match.group(1)).read_text())
        return section("\n" + text, match.group(2)) if match.group(2) else text
    return MARKER.sub(include, markdown)
