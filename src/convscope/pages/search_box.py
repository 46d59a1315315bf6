"""A search box that runs in the page, offline: a text field over a JSON index of entries
(the words they are found by, a title, a link and a note), matches shown as links as one types.
A query word matches the start of a word, as ``methods.labels.result.matches`` does."""
from __future__ import annotations

import json
from html import escape
from typing import Sequence, TypedDict

SCRIPT = """
<script>
(function(){
  const index = JSON.parse(document.getElementById('search-index').textContent);
  const box = document.getElementById('search'), out = document.getElementById('search-results');
  function show(){
    const words = box.value.toLowerCase().split(/[^\\w:-]+/).filter(w => w);
    out.innerHTML = '';
    if (!words.length) return;
    const found = index.filter(e => words.every(w => (' ' + e.words).includes(' ' + w))).slice(0, 50);
    for (const e of found){
      const li = document.createElement('li'), a = document.createElement('a');
      a.href = e.href; a.textContent = e.title; li.appendChild(a);
      if (e.note){ li.appendChild(document.createTextNode(' ' + e.note)); }
      out.appendChild(li);
    }
    if (!found.length){ out.innerHTML = '<li>nothing matches</li>'; }
  }
  box.addEventListener('input', show); show();
})();
</script>
"""


class SearchEntry(TypedDict):
    """One thing the box finds: ``words`` (lower case, what a query must hold), ``title``, ``href``, ``note``."""

    words: str
    title: str
    href: str
    note: str


def entry(title: str, href: str, words: Sequence[str], note: str = "") -> SearchEntry:
    """An entry found by ``words`` (lower-case words, as ``words_of`` gives them) and its title."""
    return {"words": " ".join([title.lower(), *words]), "title": title, "href": href, "note": note}


def search_box(entries: Sequence[SearchEntry], placeholder: str) -> str:
    """The box, its results and its index as HTML (the index inline, so the page works from a file)."""
    data = json.dumps(list(entries), separators=(",", ":"))
    for char, code in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):  # no markup inside the script
        data = data.replace(char, code)
    return (f'<p><input id="search" type="search" size="40" placeholder="{escape(placeholder)}" '
            f'aria-label="search"></p><ul id="search-results"></ul>'
            f'<script type="application/json" id="search-index">{data}</script>{SCRIPT}')
