"""Recognising guideline categories in free text (diagnosis descriptions, surgery names).

The words live in the plugins' YAML as tables of comma-separated terms; compiled patterns
are cached because evaluation is a hot path.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache


@lru_cache(maxsize=256)
def _pattern(terms: str) -> re.Pattern[str]:
    words = [t.strip() for t in terms.split(",") if t.strip()]
    return re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + ")", re.IGNORECASE)


def mentions(text: str | None, terms: str | Iterable[str]) -> bool:
    """Whether ``text`` contains a word starting with one of ``terms``."""
    if not text:
        return False
    joined = terms if isinstance(terms, str) else ",".join(terms)
    return bool(_pattern(joined).search(text))


def first_category(text: str | None, table: Mapping[str, str]) -> str | None:
    """The first key of ``table`` (in YAML order) whose terms ``text`` mentions."""
    key = (id(table), text)
    known = _categories.get(key)
    if known is not None and known[0] is table:
        return known[1]
    found = None
    for category, terms in table.items():
        if mentions(text, terms):
            found = category
            break
    if len(_categories) >= _CATEGORY_SLOTS:
        _categories.clear()
    _categories[key] = (table, found)
    return found


# (id of a table, text) -> (the table, the category found): several criteria classify the
# same description by the same table (a parameter, one object per knowledge base). The
# entry keeps the table itself, so its id is never reused meanwhile.
_categories: dict[tuple[int, str | None], tuple[Mapping[str, str], str | None]] = {}
_CATEGORY_SLOTS = 4096
