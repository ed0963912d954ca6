"""Every sentence exists in both languages with the same placeholders, and every key the code uses exists."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from handlers import commands
from handlers.officer import dossier as officer
from handlers.producer import reevaluation
from handlers.router import FORMS
from messages import LANGUAGES, catalog, t
from storage import lifecycle

ROOT = Path(__file__).parent.parent


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_same_keys_in_every_language() -> None:
    keys = {lang: set(catalog(lang)) for lang in LANGUAGES}
    assert keys["vi"] == keys["en"], keys["vi"] ^ keys["en"]


@pytest.mark.parametrize("key", sorted(catalog("vi")))
def test_same_placeholders(key: str) -> None:
    assert placeholders(catalog("vi")[key]) == placeholders(catalog("en")[key])


def test_every_key_used_in_code_exists() -> None:
    used: set[str] = set()
    for path in [*ROOT.glob("bot/**/*.py"), *ROOT.glob("handlers/**/*.py")]:  # t(lang, "literal.key")
        used |= set(re.findall(r'\bt\([^,()]+,\s*"([a-z_.]+)"', path.read_text(encoding="utf-8")))
    for form in FORMS.values():  # every step of every form, with the data that shows its conditional steps
        for step in form.steps({"group": "food", "_group": "food", "score": 75, "_items": ["business-plan"]}):
            used |= {step.prompt, step.label, step.help}
        used |= {f"section.{s}" for s in form.sections} | {form.review_title, form.submit_label, form.cancel_prompt}
    # Keys built from data at run time.
    stages = (*lifecycle.STATUSES, lifecycle.EXPIRING, lifecycle.EXPIRED, "draft")
    used |= {f"stage.{s}" for s in stages} | {f"next.{s}" for s in stages}
    used |= {f"officer.action.{a}" for a in (*officer.SIMPLE_ACTIONS, "request_more", "record_result", "reject",
                                                  officer.INVITE_REEVALUATION)}
    used |= {f"notice.{s}" for s in (*officer.SIMPLE_ACTIONS.values(), "needs_more", "potential_five", "stays_four",
                                     "recognised", "rejected", "rejected_mandatory", "officer_supplemented")}
    for data in ({"mandatory_met": "failed"}, {"_central": True, "central_outcome": "five"},
                 {"mandatory_met": "met", "score": 80}):  # the result form's steps and its review, each way
        used |= {key for step in FORMS["officer_result"].steps(data) for key in (step.prompt, step.label, step.help)}
    used |= {f"result.preview_{k}" for k in ("mandatory", "below", "potential", "five", "stays_four", "recognised")}
    used |= {f"delivery.{d}" for d in ("in_person", "skipped")}
    used |= {f"cli.officer_{s}" for s in ("pending", "active", "revoked", "expired")}
    for kind in ("training", "fair"):
        used |= {f"event.none_{kind}", f"event.list_{kind}", f"event.title_{kind}", f"event.announce_{kind}",
                 f"notice.{kind}_tomorrow"}
    used |= {f"prefs.kind_{k}" for k in ("training", "fair", "draft")} | {f"weekday.{d}" for d in range(7)}
    used |= {f"broadcast.status_{s}" for s in ("scheduled", "sending", "done", "cancelled")}
    used |= {f"reevaluate.change.{item}" for item in reevaluation.CHANGEABLE}
    used |= {f"command.{c.action}" for c in commands.TABLE if c.in_help or c.telegram_menu}
    used |= {f"help.args_{c.action}" for c in commands.TABLE if c.args}
    used |= {f"menu.{c.action}" for c in commands.BUTTONS.values()}
    for step in FORMS["broadcast"].steps({"_admin": True, "bc_when": "later"}):
        used |= {step.prompt, step.label, step.help}
    assert used, "the scan found no keys: the pattern is broken"
    missing = sorted(used - set(catalog("vi")))
    assert not missing, missing


def test_vietnamese_has_diacritics_and_no_english_leftovers() -> None:
    vi = catalog("vi")
    plain = [k for k, v in vi.items() if len(v) > 25 and v.isascii() and not k.startswith("language.")]
    assert not plain, plain  # a long Vietnamese sentence without one diacritic is almost surely untranslated


def test_numbers_are_formatted_per_language() -> None:
    assert t("vi", "error.too_long", length=5000, max=1000).startswith("Nội dung hơi dài (5.000 ký tự)")
    assert "5,000 characters" in t("en", "error.too_long", length=5000, max=1000)
