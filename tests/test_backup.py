"""`ocop-bot backup` while the bot writes, and `ocop-bot restore`: every committed row and every file comes back."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import subprocess
import sys
from pathlib import Path

from storage.blobs import blob_path, save_file
from storage.db import create_engine, create_sessionmaker
from storage.migrate import upgrade_database
from tests.support.catalog import says
from tests.support.processes import clean_env

ROOT = Path(__file__).resolve().parents[1]


def ocop_bot(*args: str, cwd: Path, data: Path) -> subprocess.CompletedProcess[str]:
    env = clean_env(OCOP_DATABASE_URL=f"sqlite+aiosqlite:///{data / 'ocop.db'}", OCOP_DATA_DIR=str(data),
                    PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def stored(database: Path) -> dict[str, str]:
    with sqlite3.connect(database) as conn:
        return dict(conn.execute("SELECT sha256, mime FROM stored_file").fetchall())


async def test_a_backup_taken_during_uploads_restores_every_committed_row_and_file(tmp_path: Path) -> None:
    live = tmp_path / "live"
    engine = create_engine(f"sqlite+aiosqlite:///{live / 'ocop.db'}")
    await upgrade_database(engine)
    (live / "web-secret").write_bytes(bytes(range(32)))
    sessions = create_sessionmaker(engine)
    committed: list[str] = []
    stop, under_way = asyncio.Event(), asyncio.Event()

    async def uploads() -> None:  # people sending documents the whole time, each kept file committed with its row
        n = 0
        while not stop.is_set():
            content = b"%PDF-1.4\n" + f"giấy tờ số {n}\n".encode() * 2000 + b"%%EOF\n"
            async with sessions() as session:
                row = await save_file(session, live, content, "application/pdf", f"giay-{n}.pdf")
                await session.commit()
            committed.append(row.sha256)
            if len(committed) == 50:
                under_way.set()
            n += 1
            await asyncio.sleep(0)

    writing = asyncio.create_task(uploads())
    await under_way.wait()
    before = set(committed)
    archive = tmp_path / "backups" / "ocop.tar.gz"
    made = await asyncio.to_thread(ocop_bot, "backup", str(archive), cwd=tmp_path, data=live)
    stop.set()
    await writing
    await engine.dispose()
    assert made.returncode == 0, made.stderr
    assert says(made.stdout, "cli.backup_written", path=str(archive))
    assert archive.stat().st_mode & 0o077 == 0  # personal data and the server's secret: the operator's alone
    assert len(committed) > len(before)  # the bot went on writing while the backup ran

    restored = tmp_path / "restored"
    back = ocop_bot("restore", str(archive), cwd=tmp_path, data=restored)
    assert back.returncode == 0, back.stderr
    rows = stored(restored / "ocop.db")
    assert before <= rows.keys()  # every row committed before the backup began
    for sha, mime in rows.items():  # and every row's file, whole
        assert hashlib.sha256(blob_path(restored, sha, mime).read_bytes()).hexdigest() == sha
    # The server's secret too: links and web identities signed before the backup still hold after the restore.
    assert (restored / "web-secret").read_bytes() == (live / "web-secret").read_bytes()
    migrated = ocop_bot("db", "upgrade", cwd=tmp_path, data=restored)
    assert migrated.returncode == 0, migrated.stderr  # the bot opens it as its own


async def test_restore_never_overwrites_a_database_unasked_and_refuses_what_is_not_a_backup(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert ocop_bot("db", "upgrade", cwd=tmp_path, data=data).returncode == 0
    archive = tmp_path / "b.tar.gz"
    assert ocop_bot("backup", str(archive), cwd=tmp_path, data=data).returncode == 0
    refused = ocop_bot("restore", str(archive), cwd=tmp_path, data=data)
    assert refused.returncode == 1 and says(refused.stderr, "cli.restore_would_replace",
                                            path=str((data / "ocop.db").resolve()))
    assert ocop_bot("restore", str(archive), "--replace", cwd=tmp_path, data=data).returncode == 0
    junk = tmp_path / "photo.jpg"
    junk.write_bytes(b"\xff\xd8\xff" + b"x" * 100)
    for bad in (junk, tmp_path / "missing.tar.gz"):
        answer = ocop_bot("restore", str(bad), cwd=tmp_path, data=tmp_path / "elsewhere")
        assert answer.returncode == 1 and "Traceback" not in answer.stderr
        assert f"{bad}" in answer.stderr
