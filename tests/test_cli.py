"""`ocop-bot` as an operator runs it: a real process, real ports, a fake Bot API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import aiohttp

from tests.support.catalog import says
from tests.support.checks import present
from tests.support.fake_bot_api_server import FakeBotApiServer
from tests.support.processes import ROOT, TOKEN, clean_env, free_port


def test_bad_setting_stops_with_one_clear_line(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "bot.cli", "run"], cwd=tmp_path, capture_output=True, text=True,
                            env=clean_env(OCOP_HTTP_PORT="not-a-port", PYTHONPATH=ROOT), timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "OCOP_HTTP_PORT" in lines[0] and "Traceback" not in result.stderr


def test_bad_timezone_and_database_url(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60,
                            env=clean_env(OCOP_TIMEZONE="Mars/Olympus", OCOP_DATABASE_URL="mysql://x",
                                          PYTHONPATH=ROOT))
    assert result.returncode == 2
    assert "OCOP_TIMEZONE" in result.stderr and "OCOP_DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_db_upgrade_creates_the_database(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60, env=clean_env(PYTHONPATH=ROOT))
    assert result.returncode == 0, result.stderr
    # The database is whole in its own file once the command ends: no -wal or -shm left beside it, so copying the
    # file (or moving the data directory) takes everything.
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["ocop.db"]


async def test_run_serves_web_chat_and_telegram_and_never_logs_the_token(tmp_path: Path) -> None:
    async with FakeBotApiServer() as api:
        port = free_port()
        env = clean_env(PYTHONPATH=ROOT, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=api.base_url,
                        OCOP_HTTP_PORT=str(port), OCOP_LOG_LEVEL="DEBUG")
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "run", cwd=tmp_path, env=env,
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        try:
            ready = await asyncio.wait_for(present(proc.stdout).readline(), 30)
            while b"OCOP Bot" not in ready:
                ready = await asyncio.wait_for(present(proc.stdout).readline(), 30)
            assert b"telegram" in ready and b"web" in ready
            url = f"http://127.0.0.1:{port}/api"
            async with aiohttp.ClientSession() as http:
                async with http.post(f"{url}/session") as r:
                    bearer = {"Authorization": f"Bearer {(await r.json())['token']}"}
                async with http.post(f"{url}/chat", json={"text": "/start"}, headers=bearer) as r:
                    assert r.status == 200
                    assert says((await r.json())["replies"][0]["text"], "welcome")
                # Links that open a producer's documents or send files as them: the access log keeps their keys out.
                site = f"http://127.0.0.1:{port}"
                async with http.get(f"{site}/files/{'a' * 64}.pdf?exp=1&n=giay.pdf&sig=SIGNATURE-KEY") as r:
                    assert r.status in (403, 404)
                async with http.get(f"{site}/u/UPLOAD-LINK-KEY", headers={"Referer": f"{site}/u/UPLOAD-LINK-KEY"}):
                    pass
            api.pending_updates.append({"update_id": 1, "message": {
                "message_id": 1, "date": int(time.time()), "text": "/start",
                "chat": {"id": 4242, "type": "private"}, "from": {"id": 4242, "is_bot": False, "first_name": "Lan"}}})
            for _ in range(100):
                if api.sent_texts():
                    break
                await asyncio.sleep(0.1)
            assert any(says(text, "welcome") for text in api.sent_texts())
            assert any(m == "setMyCommands" for m, _ in api.calls)
        finally:
            proc.send_signal(signal.SIGTERM)
            output = (await asyncio.wait_for(present(proc.stdout).read(), 30)).decode()
            await proc.wait()
        assert proc.returncode == 0, output
        assert TOKEN not in output and TOKEN.split(":")[1] not in output
        assert "SIGNATURE-KEY" not in output and "UPLOAD-LINK-KEY" not in output
        assert '"GET /files/' in output and "n=giay.pdf&sig=***" in output and '"GET /u/***' in output
        assert "Traceback" not in output


def run_cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60, env=clean_env(PYTHONPATH=ROOT, **env))


def assert_one_clear_line(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert all(word in lines[0] for word in words), lines[0]


def test_unreachable_database_is_one_line(tmp_path: Path) -> None:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nowhere"
    port = str(free_port())  # not the default: a bot may well be running on this machine
    assert_one_clear_line(run_cli(tmp_path, "run", OCOP_DATABASE_URL=url, OCOP_HTTP_PORT=port), "cơ sở dữ liệu")
    assert_one_clear_line(run_cli(tmp_path, "db", "upgrade", OCOP_DATABASE_URL=url), "cơ sở dữ liệu")


def test_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli(tmp_path, "run", OCOP_HTTP_PORT=str(port))
    assert_one_clear_line(result, str(port), "OCOP_HTTP_PORT")


async def test_refused_telegram_token_is_one_line_without_the_token(tmp_path: Path) -> None:
    async with FakeBotApiServer(reject_token=True) as api:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", cwd=tmp_path, stderr=asyncio.subprocess.PIPE,
            env=clean_env(PYTHONPATH=ROOT, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=api.base_url,
                          OCOP_HTTP_PORT=str(free_port())))
        _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 1
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1 and "TELEGRAM_BOT_TOKEN" in lines[0] and TOKEN not in lines[0], lines


async def test_officer_invite_list_revoke(tmp_path: Path) -> None:
    async with FakeBotApiServer() as api:
        env = clean_env(PYTHONPATH=ROOT, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=api.base_url)

        async def cli(*args: str) -> tuple[int, str, str]:
            proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", *args, cwd=tmp_path, env=env,
                                                        stdout=asyncio.subprocess.PIPE,
                                                        stderr=asyncio.subprocess.PIPE)
            out, err = await asyncio.wait_for(proc.communicate(), 60)
            return proc.returncode or 0, out.decode(), err.decode()

        code, out, err = await cli("officer", "invite", "--name", "Phạm Văn Đức", "--province", "dak lak")
        assert code == 0, err
        invite_code = out.split("Đắk Lắk): ")[1].split()[0]
        assert f"https://t.me/ocop_test_bot?start={invite_code}" in out
        assert TOKEN not in out + err
        code, out, _ = await cli("officer", "list")
        assert "Phạm Văn Đức\tĐắk Lắk\tcán bộ\tchờ dùng mã" in out and invite_code not in out
        code, out, _ = await cli("officer", "revoke", "1")
        assert code == 0 and says(out, "cli.revoked")
        code, out, _ = await cli("officer", "list")
        assert says(out, "cli.officer_revoked")
        code, _, err = await cli("officer", "revoke", "99")
        assert code == 1 and says(err, "cli.no_such_officer", id=99)
        code, _, err = await cli("officer", "invite", "--name", "X", "--province", "Atlantis")
        assert code == 1 and "Atlantis" in err and len(err.strip().splitlines()) == 1


def test_version_is_the_released_one() -> None:
    result = subprocess.run([sys.executable, "-m", "bot.cli", "--version"], capture_output=True, text=True,
                            timeout=60, env=clean_env(PYTHONPATH=ROOT))
    project = Path(__file__).resolve().parents[1] / "pyproject.toml"
    released = tomllib.loads(project.read_text(encoding="utf-8"))["project"]["version"]
    assert result.returncode == 0 and result.stdout.strip() == f"ocop-bot {released}"


def test_help_is_in_the_operators_language(tmp_path: Path) -> None:
    for lang in ("vi", "en"):
        shown = run_cli(tmp_path, "--help", OCOP_DEFAULT_LANGUAGE=lang)
        assert shown.returncode == 0, shown.stderr
        assert says(shown.stdout.replace("\n", " "), "cli.help.description", lang=lang)
        backup = run_cli(tmp_path, "backup", "--help", OCOP_DEFAULT_LANGUAGE=lang)
        assert says(" ".join(backup.stdout.split()), "cli.help.backup_out", lang=lang)
    # A setting the bot would refuse does not hide the help: it comes in the default language.
    shown = run_cli(tmp_path, "--help", OCOP_DEFAULT_LANGUAGE="fr")
    assert shown.returncode == 0 and says(shown.stdout.replace("\n", " "), "cli.help.run")
