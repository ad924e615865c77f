"""Backup and restore of the whole database: pg_dump/pg_restore on PostgreSQL, the online backup
API on SQLite. Evidence files live in the database, so one file holds everything."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess  # nosec B404 - runs pg_dump/pg_restore with an argument list, never a shell
from contextlib import closing
from pathlib import Path

import sqlalchemy as sa


class BackupError(Exception):
    pass


def _pg_command(tool: str, url: sa.engine.URL) -> tuple[list[str], dict[str, str]]:
    executable = shutil.which(tool)
    if executable is None:
        raise BackupError(f"{tool} is not installed; install the PostgreSQL client tools.")
    args = [executable, "--no-password"]
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    env = dict(os.environ)
    if url.password:
        # Through the environment, never on the command line where other users could read it.
        env["PGPASSWORD"] = url.password
    return args, env


def _sqlite_path(url: sa.engine.URL) -> str:
    if not url.database or url.database == ":memory:":
        raise BackupError("An in-memory SQLite database cannot be backed up.")
    return url.database


def backup(database_url: str, path: Path) -> None:
    url = sa.engine.make_url(database_url)
    path = Path(path)
    if path.exists():
        raise BackupError(f"{path} exists already; choose a new file name.")
    if url.get_backend_name() == "postgresql":
        args, env = _pg_command("pg_dump", url)
        args += ["--format=custom", "--no-owner", "--no-privileges", "--file", str(path), url.database or ""]
        _run(args, env)
    elif url.get_backend_name() == "sqlite":
        with closing(sqlite3.connect(_sqlite_path(url))) as source, closing(sqlite3.connect(path)) as target:
            source.backup(target)
    else:
        raise BackupError(f"Unsupported database: {url.get_backend_name()}")


def restore(database_url: str, path: Path) -> None:
    """Restore into an EMPTY database (a fresh one), so nothing existing is silently mixed in."""
    url = sa.engine.make_url(database_url)
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"{path} does not exist.")
    engine = sa.create_engine(database_url)
    try:
        tables = sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()
    if tables:
        raise BackupError("The target database is not empty; restore into a freshly created database.")
    if url.get_backend_name() == "postgresql":
        args, env = _pg_command("pg_restore", url)
        args += [
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            "--dbname",
            url.database or "",
            str(path),
        ]
        _run(args, env)
    elif url.get_backend_name() == "sqlite":
        with closing(sqlite3.connect(path)) as source, closing(sqlite3.connect(_sqlite_path(url))) as target:
            source.backup(target)
    else:
        raise BackupError(f"Unsupported database: {url.get_backend_name()}")


def _run(args: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(args, env=env, capture_output=True, text=True, check=False)  # noqa: S603  # nosec B603
    if result.returncode != 0:
        raise BackupError(f"{Path(args[0]).name} failed: {result.stderr.strip()[:2000]}")
