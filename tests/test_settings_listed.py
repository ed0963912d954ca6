"""Every setting the bot reads is in `.env.example` and in the README's configuration table, so an operator can
see all of them in one place."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
NAMES = sorted(field.alias for field in Settings.model_fields.values() if field.alias)


@pytest.mark.parametrize("name", NAMES)
def test_every_setting_is_in_the_example_env_file_and_the_readme(name: str) -> None:
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    assert re.search(rf"^(# )?{name}=", example, re.MULTILINE), f"{name} is missing from .env.example"
    assert f"| `{name}` |" in (ROOT / "README.md").read_text(encoding="utf-8"), f"{name} is missing from README"


def test_the_example_env_file_is_read_as_it_stands(tmp_path: Path) -> None:
    """Copied to .env unchanged, it gives the defaults (no stray name, no value the bot refuses)."""
    (tmp_path / ".env").write_text((ROOT / ".env.example").read_text(encoding="utf-8"), encoding="utf-8")
    listed = {line.split("=", 1)[0] for line in (tmp_path / ".env").read_text(encoding="utf-8").splitlines()
              if re.match(r"^[A-Z_]+=", line)}
    assert listed <= set(NAMES), f"not settings: {listed - set(NAMES)}"
    settings = Settings(_env_file=tmp_path / ".env")
    assert settings.telegram_bot_token is None and settings.zalo_bot_token is None
