"""The files an operator installs as they are shipped: the systemd unit passes `systemd-analyze verify`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_the_systemd_unit_verifies_and_is_hardened(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must verify the systemd unit: systemd-analyze is missing")
        pytest.skip("systemd-analyze is not installed")
    unit = (ROOT / "deploy" / "ocop-bot@.service").read_text(encoding="utf-8")
    for line in ("NoNewPrivileges=yes", "ProtectSystem=strict", "ReadWritePaths=/var/lib/ocop-bot", "User=ocop"):
        assert f"\n{line}\n" in unit
    # Verified as installed here: systemd checks that the program exists, so point it at this checkout's.
    here = unit.replace("/opt/ocop-bot/.venv/bin/ocop-bot", str(Path(sys.executable).with_name("ocop-bot")))
    here = here.replace("/opt/ocop-bot", str(ROOT))
    instance = tmp_path / "ocop-bot@81.service"
    instance.write_text(here, encoding="utf-8")
    result = subprocess.run([analyze, "verify", str(instance)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
