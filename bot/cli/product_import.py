"""`ocop-bot import products FILE`: a province's existing OCOP list (xlsx or csv) into the database.

A bad row is reported (row, column, reason) and skipped; good rows load; the same file twice changes nothing.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

from tqdm import tqdm

from bot.cli.spreadsheet import RowError, RowFields, cell_text, province_cell, read_rows, row_error
from handlers.forms.matching import Choice, match_choice
from handlers.forms.validators import Invalid, check_tax_code, normalize_phone
from messages import t
from storage import lifecycle
from storage.communes import match_commune
from storage.product_list import ListedProduct
from storage.reference import load_reference
from storage.text import fold

# Column keys in file order; their headers are the catalog's column.<key> in either language.
COLUMNS = ("producer_name", "entity_type", "tax_code", "phone", "province", "commune", "district", "product_name",
           "group", "subgroup", "stars", "score", "decision_number", "decision_date", "valid_until")
REQUIRED = ("producer_name", "entity_type", "province", "product_name", "group", "decision_number", "decision_date")


def _digits_from_number(value: Any, width: int) -> str:
    """Excel turns 0300588569 into the number 300588569: put the leading zero back."""
    text = cell_text(value)
    return text.zfill(width) if isinstance(value, int | float) and text.isdigit() else text


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = cell_text(value)
    for pattern in ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise Invalid("import.bad_date")


def _choice(text: str, items: list[Choice], reason: str) -> str:
    found = match_choice(text, items)
    if found is None:
        raise Invalid(reason)
    return found.id


def read_product_rows(path: Path, lang: str) -> list[tuple[int, dict[str, Any]]]:
    return read_rows(path, lang, COLUMNS, REQUIRED)


def parse_row(record: dict[str, Any]) -> ListedProduct:
    """A validated row, or Invalid naming the column (in params) and the reason."""
    ref = load_reference()

    field, required = RowFields(record), RowFields.required

    entity_type = field("entity_type", lambda v: _choice(required(v), [
        Choice(i.code, i.vi, (i.en, *i.aliases)) for i in ref.entity_types], "import.unknown_entity_type"))
    province = field("province", lambda v: province_cell(required(v)))
    group_code = field("group", lambda v: _choice(required(v), [
        Choice(g.code, g.vi, (g.en, g.code)) for g in ref.groups], "import.unknown_group"))
    group = ref.group(group_code)
    assert group is not None
    # The list's "Phân nhóm" may name the nhóm or, finer, the phân nhóm (which names its nhóm too).
    subgroups = [Choice(s.code, s.vi, (s.en, s.code)) for s in group.subgroups]
    subgroups += [Choice(f"{s.code}|{c.code}", c.vi, (c.en, c.code)) for s in group.subgroups for c in s.categories]
    picked = field("subgroup", lambda v: _choice(cell_text(v), subgroups, "import.unknown_subgroup")
                   if cell_text(v) else None)
    subgroup, _, category = (picked or "").partition("|")
    tax_code = field("tax_code", lambda v: check_tax_code(_digits_from_number(v, 10), household=entity_type ==
                                                          "household") if cell_text(v) else None)
    phone = field("phone", lambda v: normalize_phone(_phonecell_text(v)) if cell_text(v) else None)
    score = field("score", lambda v: _score(v) if cell_text(v) else None)
    stars, potential_five = field("stars", lambda v: _stars(v, score))
    decision_date = field("decision_date", lambda v: _date(required(v)) if not isinstance(v, date) else _date(v))
    valid_until = field("valid_until", lambda v: _date(v) if cell_text(v) else
                        lifecycle.certificate_valid_until(decision_date))
    typed_commune = cell_text(record.get("commune"))[:120] or None
    commune = match_commune(province, typed_commune)  # an old name that matches no commune of today stays as text
    return ListedProduct(
        producer_name=field("producer_name", required), entity_type=entity_type, tax_code=tax_code, phone=phone,
        province_code=province, commune=commune.name if commune else typed_commune,
        commune_code=commune.code if commune else None,
        district=cell_text(record.get("district"))[:120] or None, product_name=field("product_name", required),
        group_code=group_code, subgroup_code=subgroup or None, category_code=category or None, stars=stars,
        potential_five=potential_five, score=score,
        decision_number=field("decision_number", required)[:64], decision_date=decision_date, valid_until=valid_until)


def _phonecell_text(value: Any) -> str:
    text = _digits_from_number(value, 0)
    return "0" + text if isinstance(value, int | float) and len(text) in (9, 10) and text[0] != "0" else text


def _score(value: Any) -> int:
    text = cell_text(value)
    if not text.isdecimal() or not 0 <= int(text) <= 100:
        raise Invalid("import.bad_score")
    return int(text)


def _stars(value: Any, score: int | None) -> tuple[int, bool]:
    """Stars as written ('4', '4 sao', '★★★★', '4 sao (tiềm năng 5 sao)') or from the score, and whether it is the
    province's 4★ "tiềm năng 5★" awaiting the central council. Both given must agree with Decision 148."""
    text = cell_text(value)
    band = lifecycle.load_rules().band_for(score) if score is not None else None
    potential = any(word in fold(text) for word in ("tiem nang", "potential"))
    if not text:
        if band is None:
            raise Invalid("import.no_stars")
        # 90+ points without stars: the province can only have recognised 4★ "tiềm năng 5★" itself.
        return (band.province_stars, True) if band.province_stars else (band.stars, False)
    head = re.split(r"\(|tiềm|tiem|potential", text, maxsplit=1, flags=re.IGNORECASE)[0]
    words = head.split()
    written = head.count("★") or (int(words[0]) if words and words[0].isdecimal() else 0)
    if written not in (3, 4, 5) or (potential and written != 4):
        raise Invalid("import.bad_stars")
    if score is None:
        return written, potential
    if band is None:
        raise Invalid("import.stars_score_disagree")
    if band.province_stars == written:  # 90–100 points written as 4★: recognised by the province, awaiting the centre
        return written, True
    if band.stars != written or potential:
        raise Invalid("import.stars_score_disagree")
    return written, False


def validated_rows(rows: list[tuple[int, dict[str, Any]]], lang: str
                   ) -> tuple[list[tuple[int, ListedProduct]], list[RowError]]:
    good: list[tuple[int, ListedProduct]] = []
    errors: list[RowError] = []
    for number, record in tqdm(rows, desc=t(lang, "cli.import_checking"), unit="row", disable=None,
                               leave=False):
        try:
            good.append((number, parse_row(record)))
        except Invalid as bad:
            errors.append(row_error(number, bad, lang))
    return good, errors
