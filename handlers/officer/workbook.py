"""Spreadsheets the bot writes (exports, registrants, the report) hold what people typed: none of it may run as a
formula when an officer opens the file."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # openpyxl is loaded only when a sheet is made, not at start-up
    from openpyxl.worksheet.worksheet import Worksheet

# What a spreadsheet program may read as the start of a formula (OWASP's list for CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def append_row(sheet: Worksheet, values: list[Any]) -> None:
    """Append a row: a text that starts like a formula is stored as text, shown as typed and never evaluated
    (a producer named '=HYPERLINK(...)' stays a name in an officer's export)."""
    sheet.append(values)
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str) and cell.value.startswith(FORMULA_STARTS):
            cell.data_type = "s"
