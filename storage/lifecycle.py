"""The application status machine and the OCOP scoring rules, in one place."""

from __future__ import annotations

import calendar
import tomllib
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

SUBMITTED, NEEDS_MORE, COMMUNE_CHECKED = "submitted", "needs_more", "commune_checked"
COUNCIL_REVIEW, AWAITING_CENTRAL = "council_review", "awaiting_central"
RECOGNISED, REJECTED = "recognised", "rejected"
# Shown to producers but never stored: they follow from the certificate's dates.
EXPIRING, EXPIRED = "expiring", "expired"

# Which status may follow which. Anything else is refused, whoever asks.
TRANSITIONS: dict[str, frozenset[str]] = {
    SUBMITTED: frozenset({NEEDS_MORE, COMMUNE_CHECKED, REJECTED}),
    NEEDS_MORE: frozenset({SUBMITTED, REJECTED}),
    COMMUNE_CHECKED: frozenset({COUNCIL_REVIEW, NEEDS_MORE, REJECTED}),
    COUNCIL_REVIEW: frozenset({RECOGNISED, AWAITING_CENTRAL, NEEDS_MORE, REJECTED}),
    AWAITING_CENTRAL: frozenset({RECOGNISED, REJECTED}),
    RECOGNISED: frozenset(),
    REJECTED: frozenset(),
}
STATUSES = tuple(TRANSITIONS)
OPEN_STATUSES = tuple(s for s, onward in TRANSITIONS.items() if onward)  # not yet decided


def can_transition(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, frozenset())


@dataclass(frozen=True)
class StarBand:
    stars: int
    min_score: int
    max_score: int
    recognised_by: str  # province | central


@dataclass(frozen=True)
class Rules:
    certificate_validity_months: int
    expiring_soon_days: int
    bands: tuple[StarBand, ...]

    def band_for(self, score: int) -> StarBand | None:
        """The star band of a score; None below the lowest band (not recognised)."""
        return next((b for b in self.bands if b.min_score <= score <= b.max_score), None)


@cache
def load_rules() -> Rules:
    with open(Path(__file__).parent / "reference" / "rules.toml", "rb") as fh:
        raw = tomllib.load(fh)
    bands = tuple(StarBand(**b) for b in raw["star_band"])
    return Rules(raw["certificate_validity_months"], raw["expiring_soon_days"], bands)


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the month's end (31/1 + 1 month = 28 or 29/2)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def certificate_valid_until(decision_date: date) -> date:
    return add_months(decision_date, load_rules().certificate_validity_months)


def shown_stage(status: str, valid_until: date | None, today: date) -> str:
    """The stage a producer sees: a recognised product becomes 'expiring', then 'expired', by date."""
    if status == RECOGNISED and valid_until is not None:
        if valid_until < today:
            return EXPIRED
        if (valid_until - today).days <= load_rules().expiring_soon_days:
            return EXPIRING
    return status
