"""Reading a spreadsheet an operator fills in (xlsx or csv), whatever the program that saved it."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from openpyxl import load_workbook

from handlers.forms.matching import find_province
from handlers.forms.validators import Invalid
from messages import LANGUAGES, t
from storage.text import fold

T = TypeVar("T")


class FileProblem(Exception):
    """The file as a whole cannot be read; the message is for the operator."""


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    reason: str


def row_error(number: int, bad: Invalid, lang: str) -> RowError:
    """A refused row as the operator reads it: its number, the column (by its header) and the reason."""
    column = bad.params.get("column", "")
    return RowError(number, t(lang, f"column.{column}") if column else "", t(lang, bad.key))


def parsed_rows(rows: list[tuple[int, dict[str, Any]]], parse: Callable[[dict[str, Any]], T], lang: str
                ) -> tuple[list[T], list[RowError]]:
    """Every row checked before anything is written: the good ones parsed, the others as the operator reads them."""
    good: list[T] = []
    errors: list[RowError] = []
    for number, record in rows:
        try:
            good.append(parse(record))
        except Invalid as bad:
            errors.append(row_error(number, bad, lang))
    return good, errors


def tally(errors: list[RowError]) -> dict[str, int]:
    """The import summary's counts, before any row is written."""
    return {"created": 0, "updated": 0, "unchanged": 0, "rejected": len(errors)}


def error_lines(errors: list[RowError], lang: str) -> list[str]:
    return [t(lang, "cli.import_row_error", row=str(e.row), column=e.column, reason=e.reason) for e in errors]


def header_key(header: str, columns: tuple[str, ...]) -> str | None:
    folded = fold(header)
    for key in columns:
        if folded in {fold(key), *(fold(t(lang, f"column.{key}")) for lang in LANGUAGES)}:
            return key
    return None


def read_rows(path: Path, lang: str, columns: tuple[str, ...], required: tuple[str, ...]
              ) -> list[tuple[int, dict[str, Any]]]:
    """(row number as the spreadsheet shows it, {column key: cell}) for every non-empty row. Headers are the
    catalog's column.<key> in either language, with or without diacritics."""
    if not path.is_file():
        raise FileProblem(t(lang, "cli.import_no_file", path=str(path)))
    suffix = path.suffix.lower()
    try:
        table = list(_xlsx(path) if suffix in (".xlsx", ".xlsm") else _csv(path))
    except FileProblem:
        raise
    except Exception as exc:  # a corrupt or mislabelled file: say so in one line
        raise FileProblem(t(lang, "cli.import_unreadable", path=path.name, problem=type(exc).__name__)) from exc
    if not table:
        raise FileProblem(t(lang, "cli.import_empty", path=path.name))
    keys = [header_key(str(h or ""), columns) for h in table[0]]
    missing = [k for k in required if k not in keys]
    if missing:
        raise FileProblem(t(lang, "cli.import_missing_columns",
                            columns=", ".join(t(lang, f"column.{k}") for k in missing)))
    rows = []
    for number, cells in enumerate(table[1:], start=2):
        record = {key: cell for key, cell in zip(keys, cells, strict=False) if key is not None}
        if any(cell_text(v) for v in record.values()):
            rows.append((number, record))
    return rows


def _xlsx(path: Path) -> Iterator[tuple[Any, ...]]:
    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        yield from workbook.worksheets[0].iter_rows(values_only=True)
    finally:
        workbook.close()


def _csv(path: Path) -> Iterator[list[str]]:
    text = path.read_bytes().decode("utf-8-sig")  # Excel writes a BOM
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    yield from csv.reader(io.StringIO(text), dialect)


def province_cell(text: str) -> str:
    """A province as lists write it (TPHCM, BR-VT, a former name), or the row is refused."""
    found = find_province(text)
    if found is None:
        raise Invalid("import.unknown_province")
    return found


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(str(value).split())


class RowFields:
    """Reading one row's cells with checks; a failure names the column it came from."""

    def __init__(self, record: dict[str, Any]) -> None:
        self.record = record

    def __call__(self, key: str, check: Any) -> Any:
        try:
            return check(self.record.get(key))
        except Invalid as bad:
            raise Invalid(bad.key, {"column": key}) from None

    @staticmethod
    def required(value: Any, limit: int = 200) -> str:
        text = cell_text(value)
        if not text:
            raise Invalid("import.required")
        return text[:limit]
