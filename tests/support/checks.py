"""What a test expects to be there: a failure that says so, not an AttributeError on None further down."""

from __future__ import annotations

import re
from typing import TypeVar

T = TypeVar("T")


def present(value: T | None) -> T:
    assert value is not None, "expected a value, found None"
    return value


def found(pattern: str, text: str, group: int = 0) -> str:
    """The part of `text` that `pattern` (or its `group`) matches."""
    match = re.search(pattern, text)
    assert match is not None, f"{pattern!r} is not in {text!r}"
    return match.group(group)
