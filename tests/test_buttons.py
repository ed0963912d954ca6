"""Button ids: one typed declaration each, built and read by the same code; an id from a device is checked field by
field, and ids already on people's screens keep working."""

from __future__ import annotations

import dataclasses
import re
import typing
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from handlers import buttons
from handlers.buttons import Action, ApplicationList, Button, ClaimAct, EditStep, Nav, Snooze, StatusPage, parse

ROOT = Path(__file__).resolve().parents[1]
DECLARED = sorted({cls for cls in buttons._REGISTRY.values()}, key=lambda c: c.prefix)


def _field_values(cls: type[Button]) -> st.SearchStrategy[Button]:
    hints = typing.get_type_hints(cls)
    fields = dataclasses.fields(cls)
    word = st.text(alphabet=st.characters(codec="utf-8", exclude_characters=":"), min_size=1, max_size=20)
    last_word = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=20)

    def value(i: int, field: dataclasses.Field[object]) -> st.SearchStrategy[object]:
        hint = hints[field.name]
        if hint is int:
            return st.integers(min_value=-(2**31) + 1, max_value=2**31 - 1)
        if typing.get_origin(hint) is typing.Literal:
            return st.sampled_from(typing.get_args(hint))
        return last_word if i == len(fields) - 1 else word

    return st.builds(cls, **{f.name: value(i, f) for i, f in enumerate(fields)})


@given(st.sampled_from(DECLARED).flatmap(_field_values))
def test_invariant_every_button_reads_back_as_itself(button: Button) -> None:
    """parse(b.id) == b: whatever a handler builds, the router reads the same fields back."""
    assert parse(button.id) == button


@given(st.text(max_size=80))
def test_invariant_any_text_is_a_button_or_none_and_never_an_error(text: str) -> None:
    parsed = parse(text)
    assert parsed is None or isinstance(parsed, Button)


def test_altered_ids_are_refused_field_by_field() -> None:
    assert parse("status:page:2") == StatusPage(2)
    for altered in ("status:page:x", "status:page:", "status:page:99999999999", "status:page: 2", "status:page",
                    "verify:act:1:drop:0", "verify:act:1:verify", "nav:sideways", "nosuch:1", "food", ""):
        assert parse(altered) is None, altered
    assert parse("verify:act:1:merge:2") == ClaimAct(1, "merge", 2)


def test_only_the_last_field_may_hold_the_separator_and_an_empty_optional_tail_is_left_off() -> None:
    assert EditStep("doc:label").id == "edit:doc:label" and parse("edit:doc:label") == EditStep("doc:label")
    assert Snooze(7, "30").id == "snooze:7:30"
    assert ApplicationList("all", 0).id == "apps:list:all:0"
    assert parse("apps:list:needs_more:10:food-tea") == ApplicationList("needs_more", 10, "food-tea")


def test_a_renamed_prefix_still_reads_the_buttons_already_sent() -> None:
    """'hoso:list' (Vietnamese, before ids were in one language) is on officers' screens and in old messages."""
    assert parse("hoso:list:needs_more:0:food") == ApplicationList("needs_more", 0, "food")
    assert ApplicationList("needs_more", 0, "food").id.startswith("apps:list:")


def test_form_buttons_are_not_actions_and_earlier_messages_buttons_are() -> None:
    """Inside a form, an Action is refused politely (it would start something else); the form's own are not."""
    assert not isinstance(parse(Nav("back").id), Action) and not isinstance(parse(EditStep("name").id), Action)
    assert isinstance(parse(StatusPage(1).id), Action) and isinstance(parse("app:open:3"), Action)


def test_no_button_id_is_written_out_anywhere_but_its_declaration() -> None:
    """Every id is built from its type: a literal "app:open:" elsewhere would escape the checks above."""
    # "nav:…" and a whole "bc:new"; a bare word ("edit", "resume") is a plain word, not an id.
    keys = sorted(buttons._REGISTRY, key=len, reverse=True)
    either = "|".join(re.escape(k) + (r"""(?::|["'])""" if ":" in k else ":") for k in keys)
    literal = re.compile(rf"""["'](?:{either})""")
    found = [f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
             for room in ("bot", "handlers", "storage")
             for path in (ROOT / room).rglob("*.py") if path.name != "buttons.py"
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if literal.search(line)]
    assert found == []
