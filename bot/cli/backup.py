"""`ocop-bot backup OUT` and `ocop-bot restore IN`: the database and the data directory in one archive.

SQLite is copied with its online backup API, a consistent snapshot even while the bot writes (under WAL readers do
not stop writers). The data directory is copied after the database: uploads are named by their hash and written
before the row that names them commits, so every file the copied database names is already on disk. PostgreSQL is
dumped with its own tools (docs/operations.md); its archive carries the files alone.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tarfile
import tempfile
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.settings import Settings
from storage.db import is_sqlite

MANIFEST = "ocop-backup.json"
DATABASE = "database.sqlite3"
FILES = "data"


class BackupError(Exception):
    """What an operator is told (a messages key and its values), not a traceback."""

    def __init__(self, key: str, **values: str) -> None:
        super().__init__(key)
        self.key, self.values = key, values


def sqlite_path(settings: Settings) -> Path | None:
    database = make_url(settings.database_url).database if is_sqlite(settings.database_url) else None
    return Path(database).resolve() if database else None


def _skipped(path: Path, database: Path | None) -> bool:
    """The live database and its journals are copied by the backup API, never as files; a `.part` is an upload
    still being written (renamed into place when whole)."""
    real = path.resolve()
    return path.suffix == ".part" or (database is not None and real.parent == database.parent
                                      and real.name.startswith(database.name))


def backup(settings: Settings, out: Path) -> str:
    """Write the archive; returns the database kind ("sqlite" or "postgresql")."""
    database = sqlite_path(settings)
    data_dir = settings.data_dir.resolve()
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, part = tempfile.mkstemp(prefix=out.name, suffix=".part", dir=out.parent)
    os.close(fd)
    os.chmod(part, 0o600)  # it holds personal data and the server's secret
    try:
        with tempfile.TemporaryDirectory(dir=out.parent) as scratch, tarfile.open(part, "w:gz") as archive:
            kind = "postgresql"
            if database is not None:
                if not database.exists():
                    raise BackupError("cli.backup_no_database", path=str(database))
                kind = "sqlite"
                copy = Path(scratch) / DATABASE
                source = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
                target = sqlite3.connect(copy)
                try:
                    source.backup(target)
                finally:
                    target.close()
                    source.close()
                archive.add(copy, DATABASE)
            if data_dir.is_dir():
                for path in sorted(data_dir.rglob("*")):
                    if path.is_file() and not _skipped(path, database):
                        archive.add(path, f"{FILES}/{path.relative_to(data_dir).as_posix()}")
            manifest = Path(scratch) / MANIFEST
            manifest.write_text(json.dumps({"format": 1, "database": kind, "release": version("ocop-bot"),
                                            "made_at": datetime.now(UTC).isoformat(timespec="seconds")}))
            archive.add(manifest, MANIFEST)
        os.replace(part, out)
    except BaseException:
        Path(part).unlink(missing_ok=True)
        raise
    return kind


def restore(settings: Settings, archive_path: Path, *, replace: bool) -> str:
    """Put an archive back: the SQLite database (when the archive and the settings both have one) and every file.
    Refuses to overwrite an existing database unless `replace`. Returns the archive's database kind."""
    if not archive_path.is_file():
        raise BackupError("cli.restore_missing", path=str(archive_path))
    try:
        with tarfile.open(archive_path, "r:*") as archive:
            return _restore_from(archive, settings, archive_path, replace=replace)
    except tarfile.TarError as exc:  # damaged or cut short: an OSError (disk full) is said as itself
        raise BackupError("cli.restore_unreadable", path=str(archive_path), problem=str(exc)) from None


def _restore_from(archive: tarfile.TarFile, settings: Settings, archive_path: Path, *, replace: bool) -> str:
    try:
        manifest = json.loads(archive.extractfile(MANIFEST).read())  # type: ignore[union-attr]
    except (KeyError, AttributeError, ValueError):
        raise BackupError("cli.restore_unreadable", path=str(archive_path), problem=MANIFEST) from None
    kind = manifest.get("database")
    database = sqlite_path(settings)
    if kind == "sqlite" and database is None:
        raise BackupError("cli.restore_needs_sqlite")
    if kind == "sqlite" and database is not None and database.exists() and database.stat().st_size \
            and not replace:
        raise BackupError("cli.restore_would_replace", path=str(database))
    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    files = [m for m in archive.getmembers() if m.name.startswith(f"{FILES}/") and m.isfile()]
    for member in files:
        member.name = member.name.removeprefix(f"{FILES}/")
    # filter="data" refuses absolute paths, "..", links out of the directory and device files.
    archive.extractall(data_dir, members=files, filter="data")
    if kind == "sqlite" and database is not None:
        database.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=database.parent) as scratch:
            archive.extract(DATABASE, scratch, filter="data")
            for journal in ("-wal", "-shm", "-journal"):  # the old database's, which would be replayed on it
                Path(f"{database}{journal}").unlink(missing_ok=True)
            os.replace(Path(scratch) / DATABASE, database)
    return str(kind)
