"""Text folding shared by matching typed answers and searching stored names."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_NON_WORD = re.compile(r"[^\w]+")


@lru_cache(maxsize=8192)  # labels and aliases are folded again on every match: keep the answers
def fold(text: str) -> str:
    """Lower case, no diacritics, đ→d, punctuation as spaces: 'Hộ  kinh-doanh' → 'ho kinh doanh'."""
    decomposed = unicodedata.normalize("NFD", text.casefold().replace("đ", "d"))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_NON_WORD.sub(" ", stripped).split())
