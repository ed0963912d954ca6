"""Reference data (provinces, product groups, dossier documents, fixed choices) loaded from TOML files."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

_DIR = Path(__file__).parent / "reference"
# A first evaluation, or the evaluation again of a product whose certificate runs out (Decision 148: 36 months).
APPLICATION_KINDS = ("new", "reevaluation")


@dataclass(frozen=True)
class Item:
    """A coded entry with a name per language and extra words that should also match it."""

    code: str
    vi: str
    en: str
    aliases: tuple[str, ...] = ()

    def label(self, lang: str) -> str:
        return self.en if lang == "en" else self.vi


@dataclass(frozen=True)
class Province(Item):
    former: tuple[str, ...] = ()
    gso: int = 0  # the official code, as `vietnam-provinces` lists it


@dataclass(frozen=True)
class Category(Item):
    """A nhóm within a product group, with its phân nhóm (none when the nhóm is the finest level)."""

    categories: tuple[Item, ...] = ()


@dataclass(frozen=True)
class ProductGroup(Item):
    subgroups: tuple[Category, ...] = ()

    def subgroup(self, code: str | None) -> Category | None:
        return next((s for s in self.subgroups if s.code == code), None)


@dataclass(frozen=True)
class DossierDocument(Item):
    groups: tuple[str, ...] = ()
    optional: bool = False
    kinds: tuple[str, ...] = APPLICATION_KINDS

    def applies_to(self, group_code: str | None, kind: str = "new") -> bool:
        return (not self.groups or group_code in self.groups) and kind in self.kinds


@dataclass(frozen=True)
class Reference:
    provinces: tuple[Province, ...]
    groups: tuple[ProductGroup, ...]
    documents: tuple[DossierDocument, ...]
    entity_types: tuple[Item, ...]
    material_origins: tuple[Item, ...]
    certifications: tuple[Item, ...]
    _index: dict[str, Item] = field(default_factory=dict, compare=False, repr=False)

    def province(self, code: str | None) -> Province | None:
        return next((p for p in self.provinces if p.code == code), None)

    def group(self, code: str | None) -> ProductGroup | None:
        return next((g for g in self.groups if g.code == code), None)

    def categories_of(self, group_code: str | None, subgroup_code: str | None) -> tuple[Item, ...]:
        """The phân nhóm to choose from, once group and nhóm are known."""
        group = self.group(group_code)
        subgroup = group.subgroup(subgroup_code) if group else None
        return subgroup.categories if subgroup else ()

    def documents_for(self, group_code: str | None, kind: str = "new") -> list[DossierDocument]:
        return [d for d in self.documents if d.applies_to(group_code, kind)]

    def label(self, code: str | None, lang: str) -> str:
        """Name of any coded item (sub-groups included); the code itself when unknown."""
        if not self._index:
            everything: list[Item] = [*self.provinces, *self.groups, *self.documents, *self.entity_types,
                                      *self.material_origins, *self.certifications]
            everything += [s for g in self.groups for s in g.subgroups]
            everything += [c for g in self.groups for s in g.subgroups for c in s.categories]
            # Prefixes keep codes shared by two lists (food-safety) apart only where it matters:
            # both lists give the same kind of name, so the first wins.
            for item in everything:
                self._index.setdefault(item.code, item)
        found = self._index.get(code or "")
        return found.label(lang) if found else (code or "")


def _load(name: str) -> dict[str, Any]:
    with open(_DIR / name, "rb") as fh:
        return tomllib.load(fh)


def _items(rows: list[dict[str, Any]]) -> tuple[Item, ...]:
    return tuple(Item(r["code"], r["vi"], r["en"], tuple(r.get("aliases", ()))) for r in rows)


@cache
def load_reference() -> Reference:
    provinces = tuple(
        Province(p["code"], p["name"], p["name"], tuple(p.get("aliases", ())), tuple(p.get("former", ())), p["gso"])
        for p in _load("provinces.toml")["province"]
    )
    groups = tuple(
        ProductGroup(g["code"], g["vi"], g["en"], tuple(g.get("aliases", ())),
                     tuple(Category(s["code"], s["vi"], s["en"], tuple(s.get("aliases", ())), _items(s.get("sub", [])))
                           for s in g["sub"]))
        for g in _load("product_groups.toml")["group"]
    )
    documents = tuple(
        DossierDocument(d["code"], d["vi"], d["en"], (), tuple(d.get("groups", ())), d.get("optional", False),
                        tuple(d.get("kinds", APPLICATION_KINDS)))
        for d in _load("documents.toml")["document"]
    )
    choices = _load("choices.toml")
    return Reference(
        provinces=provinces,
        groups=groups,
        documents=documents,
        entity_types=_items(choices["entity_type"]),
        material_origins=_items(choices["material_origin"]),
        certifications=_items(choices["certification"]),
    )
