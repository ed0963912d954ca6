"""Assertions against the catalog: a test says which sentence a person should read, not a fragment of its wording,
so rewording a message never breaks a test and a test never passes on a look-alike sentence."""

from __future__ import annotations

import re
from functools import cache
from string import Formatter
from typing import Any

from messages import catalog, format_number


@cache
def _pieces(lang: str, key: str) -> tuple[tuple[str, str | None], ...]:
    return tuple((literal, field) for literal, field, _, _ in Formatter().parse(catalog(lang)[key]))


def pattern(key: str, *, lang: str = "vi", **params: Any) -> re.Pattern[str]:
    """The sentence `key` as a pattern: the given `params` as `t` would show them, any words for the others."""
    parts = []
    for literal, field in _pieces(lang, key):
        parts.append(re.escape(literal))
        if field is None:
            continue
        if field in params:
            value = params[field]
            shown = format_number(lang, value) if isinstance(value, int | float) and not isinstance(value, bool) \
                else str(value)
            parts.append(re.escape(shown))
        else:
            parts.append(r"(?:.|\n)*?")
    return re.compile("".join(parts))


def says(text: str, key: str, *, lang: str = "vi", **params: Any) -> bool:
    """Whether `text` holds the catalog's sentence `key` (with these `params`; any value where one is not given)."""
    return pattern(key, lang=lang, **params).search(text) is not None
