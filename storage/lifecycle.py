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
    # Already 4★ "tiềm năng 5★" with the province's certificate: the central council adds a star or not.
    AWAITING_CENTRAL: frozenset({RECOGNISED}),
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
    province_stars: int | None = None  # what the province recognises while the central council decides


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


FIVE_STARS_CONFIRMED, STAYS_FOUR_STARS = "five", "four"  # the central council's two outcomes


@dataclass(frozen=True)
class ResultPlan:
    """What confirming a council's record will do, worked out before it is done (shown in the officer's review)."""

    to_status: str
    stars: int | None  # the certificate's stars; None when no certificate is issued
    potential_five: bool = False
    keeps_certificate: bool = False  # the central council kept 4★: the province's certificate stands


def plan_result(status: str, *, mandatory_met: bool | None, score: int | None, central_outcome: str | None = None,
                has_certificate: bool = False) -> ResultPlan:
    """Decision 148 as a council applies it.

    At the provincial council: a failed mandatory criterion is "không đạt" whatever the points; below 50 is not
    recognised; 50–89 is 3★/4★ recognised by the province; 90–100 is recognised by the province as 4★
    "tiềm năng 5★" with a certificate while the central council decides. Then the central council makes it 5★
    (a new certificate from its decision) or it stays 4★ (the province's certificate stands).
    """
    if status == AWAITING_CENTRAL:
        if central_outcome == FIVE_STARS_CONFIRMED:
            return ResultPlan(RECOGNISED, 5)
        return ResultPlan(RECOGNISED, 4, keeps_certificate=has_certificate)
    band = load_rules().band_for(score) if score is not None else None
    if mandatory_met is False or band is None:
        return ResultPlan(REJECTED, None)
    if band.recognised_by == "central":
        return ResultPlan(AWAITING_CENTRAL, band.province_stars, potential_five=True)
    return ResultPlan(RECOGNISED, band.stars)


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the month's end (31/1 + 1 month = 28 or 29/2)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def certificate_valid_until(decision_date: date) -> date:
    return add_months(decision_date, load_rules().certificate_validity_months)


def shown_stage(status: str, valid_until: date | None, today: date) -> str:
    """The stage a producer sees: a recognised product (4★ awaiting the centre included) becomes 'expiring', then
    'expired', by date."""
    if status in (RECOGNISED, AWAITING_CENTRAL) and valid_until is not None:
        if valid_until < today:
            return EXPIRED
        if (valid_until - today).days <= load_rules().expiring_soon_days:
            return EXPIRING
    return status
