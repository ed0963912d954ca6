"""Understanding what a person typed: diacritics optional, decomposed Unicode normalised, numbers work."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from storage.communes import commune, search_communes
from storage.reference import load_reference
from storage.text import fold

__all__ = ["CONTROL", "Choice", "clean_text", "fold", "match_choice", "parse_numbers", "without_controls"]

# Control characters become spaces (Word's line break pasted into a chat is one; PostgreSQL refuses NUL); characters
# that are invisible go (zero-width spaces, direction marks, a byte-order mark).
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_INVISIBLE = re.compile(r"[\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]")


def clean_text(raw: str) -> str:
    """NFC (some Vietnamese keyboards send decomposed letters), no control characters, single spaces."""
    text = unicodedata.normalize("NFC", raw).replace("\r\n", "\n")
    text = _INVISIBLE.sub("", CONTROL.sub(" ", text))
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return "\n".join(lines).strip()


def without_controls(text: str | None) -> str | None:
    """A button id or a name with its control characters dropped (they mean nothing there)."""
    return CONTROL.sub("", text) if text else text


@dataclass(frozen=True)
class Choice:
    """A selectable answer: its id, its visible label and the extra words that also pick it."""

    id: str
    label: str
    words: tuple[str, ...] = ()


def match_choice(text: str, choices: Sequence[Choice]) -> Choice | None:
    """The one choice the text means, or None when it means none or several.

    Tried in order: the number shown beside it, the exact words of its label or aliases,
    then every typed word found in exactly one label ('ho kinh doanh' → 'Hộ sản xuất kinh doanh').
    """
    folded = fold(text)
    if not folded:
        return None
    if folded.isdecimal():
        index = int(folded)
        return choices[index - 1] if 1 <= index <= len(choices) else None
    for choice in choices:
        if folded in {fold(choice.label), fold(choice.id), *(fold(w) for w in choice.words)}:
            return choice
    typed = folded.split()
    hits = [c for c in choices if _contains_words(typed, c)]
    return hits[0] if len(hits) == 1 else None


def pick(choice_id: str | None, text: str, choices: Sequence[Choice]) -> Choice | None:
    """What a person chose: the tapped option by its id, else what the typed text means."""
    if choice_id:
        return next((c for c in choices if c.id == choice_id), None)
    return match_choice(text, choices)


def _contains_words(typed: list[str], choice: Choice) -> bool:
    if sum(len(w) for w in typed) < 3:
        return False
    return any(set(typed) <= set(fold(name).split()) for name in (choice.label, *choice.words))


def parse_numbers(text: str) -> list[int] | None:
    """'1 3, 5' → [1, 3, 5] for picking several options at once; None when it is not a number list."""
    parts = [p for p in re.split(r"[\s,;.]+", text.strip()) if p]
    if not parts or not all(p.isdecimal() for p in parts):
        return None
    return [int(p) for p in parts]


def province_choices() -> list[Choice]:
    """The 34 provinces, answerable by their name, common spellings (TPHCM, Kontum) and former names."""
    return [Choice(p.code, p.vi, (*p.aliases, *p.former)) for p in load_reference().provinces]


def find_province(typed: str) -> str | None:
    found = match_choice(typed, province_choices())
    if found is not None:
        return found.id
    # Spellings people write: TPHCM, BR-VT, Kontum, Đắc Nông, Bắc Cạn: compared without spaces, punctuation or
    # "TP"/"tỉnh", and with k and c taken as one letter.
    key = province_key(typed)
    hits = {c.id for c in province_choices() for name in (c.label, *c.words) if key and province_key(name) == key}
    return hits.pop() if len(hits) == 1 else None


def province_key(name: str) -> str:
    compact = re.sub(r"[^a-z0-9]", "", fold(name))
    compact = re.sub(r"^(thanhpho|tinh|tp)(?=.{2})", "", compact)
    return compact.replace("k", "c")


def commune_choices(province_codes: Sequence[str | None], typed: str) -> list[Choice]:
    """The communes and wards of these provinces matching part of a name, from the official list; each named with its
    province when there are several (names repeat across provinces). A choice's id is the commune's code."""
    found = [c for province in province_codes for c in search_communes(province, typed)]
    if len(province_codes) > 1:
        ref = load_reference()
        return [Choice(str(c.code), f"{c.name} ({ref.label(c.province_code, 'vi')})") for c in found]
    return [Choice(str(c.code), c.name) for c in found]


def commune_name(code: object) -> str:
    """A commune as a person reads it: its official name, or what is stored when no commune has that code."""
    found = commune(code) if isinstance(code, int | str) else None
    return found.name if found else str(code)
