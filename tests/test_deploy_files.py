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


def test_the_alert_rules_load_and_fire_on_what_they_describe() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must check the alert rules: .ci/run installs Debian's prometheus package (promtool)")
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    rules = ROOT / "deploy" / "prometheus"
    for command in (["check", "rules", "ocop-bot-alerts.yml"], ["test", "rules", "ocop-bot-alerts.test.yml"]):
        result = subprocess.run([promtool, *command], cwd=rules, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
    written = (rules / "ocop-bot-alerts.yml").read_text(encoding="utf-8")
    runbooks = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    for alert in ("OcopDailyScanLate", "OcopSendsFailing", "OcopOutboxBacklogGrowing", "OcopNotReady",
                  "OcopRepliesFailing"):
        assert f"alert: {alert}\n" in written and f"### {alert}\n" in runbooks  # each alert has its runbook
