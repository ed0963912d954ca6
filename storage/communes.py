"""The country's communes and wards (xã, phường, đặc khu) since 1 July 2025, from the `vietnam-provinces` package.

A producer's commune is stored by its official code; the name shown is the package's. People type part of a name,
with or without diacritics and with or without "xã"/"phường", and pick from what matches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from vietnam_provinces import ProvinceCode, Ward

from storage.reference import load_reference
from storage.text import fold

# What may stand before a name, as people write it: "Xã Tân Thành", "P. 3", "TT Đạ Tẻh", "đặc khu Phú Quý".
_PREFIX = re.compile(r"^(xa|phuong|thi tran|dac khu|tt|p|x)(\b\.?\s*|(?=\d))")
_KINDS = {"xa": "xa", "x": "xa", "phuong": "phuong", "p": "phuong", "dac khu": "dac khu"}


@dataclass(frozen=True)
class Commune:
    code: int
    name: str  # the official name with its kind: "Xã Tân Thành", "Phường Xuân Hương - Đà Lạt"
    province_code: str  # ours, e.g. "lam-dong"
    words: tuple[str, ...]  # the name folded into words, without its kind
    short: tuple[str, ...]  # the same before " - ": "Phường Xuân Hương - Đà Lạt" is also "Xuân Hương"

    @property
    def core(self) -> str:
        return " ".join(self.words)


def _words(name: str) -> tuple[str, ...]:
    return tuple(re.findall(r"\w+", _PREFIX.sub("", fold(name))))


@cache
def communes_of(province_code: str | None) -> tuple[Commune, ...]:
    """Every commune and ward of one of our provinces, in the package's order; none for an unknown province."""
    province = load_reference().province(province_code)
    if province is None:
        return ()
    return tuple(Commune(int(ward.code), ward.name, province.code, _words(ward.name),
                         _words(ward.name.split(" - ")[0]))
                 for ward in Ward.iter_by_province(ProvinceCode(province.gso)))


@cache
def _by_code() -> dict[int, Commune]:
    return {c.code: c for p in load_reference().provinces for c in communes_of(p.code)}


def commune(code: int | str | None) -> Commune | None:
    try:
        return _by_code().get(int(code)) if code is not None else None
    except ValueError:
        return None


def search_communes(province_code: str | None, typed: str) -> list[Commune]:
    """The communes whose name has every typed word at the start of one of its words ('tan th' → Tân Thành);
    only the one whose whole name was typed, when there is one."""
    wanted = _words(typed)
    said = _PREFIX.match(fold(typed))
    kind = _KINDS.get(said.group(1)) if said else None  # "phường 1" is not "Xã Đam Rông 1"
    if not wanted and kind is None:
        return []
    found = [c for c in communes_of(province_code) if all(any(w.startswith(t) for w in c.words) for t in wanted)
             and (kind is None or fold(c.name).startswith(kind))]
    exact = [c for c in found if wanted in (c.words, c.short)]
    return exact if len(exact) == 1 else found


def match_commune(province_code: str | None, name: str | None) -> Commune | None:
    """The commune a whole name means (imports, the migration of typed names): exactly, or not at all."""
    if not name:
        return None
    wanted = _words(name)
    for hits in ([c for c in communes_of(province_code) if c.words == wanted],
                 [c for c in communes_of(province_code) if c.short == wanted]):
        if hits:
            return hits[0] if len(hits) == 1 else None
    return None
