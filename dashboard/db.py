"""The store's two databases behind one small interface: SQLite (default) and PostgreSQL.

:class:`Database` is what :class:`dashboard.store.Store` talks to. An implementation must
run one statement with ``?`` placeholders and return a cursor (rows as tuples, iterable,
``fetchone``/``fetchall``), return rows as dicts, run a schema script, say whether a
transaction is open, read and write the schema version, and close. The SQL the store
writes is the subset both speak (``ON CONFLICT``, ``RETURNING``); the schema scripts are
written for SQLite and translated here for PostgreSQL.

PostgreSQL needs ``psycopg`` (the ``postgres`` extra), imported only when a URL asks for it.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol


class Cursor(Protocol):
    """What a statement returns: tuple rows."""

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Any: ...


class Database(Protocol):
    """One connection, used by one thread at a time (the store holds a lock)."""

    kind: str
    errors: tuple[type[BaseException], ...]

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Cursor: ...

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]: ...

    def run_script(self, script: str, version: int) -> None: ...

    def version(self) -> int: ...

    @property
    def in_transaction(self) -> bool: ...

    def begin(self) -> None: ...

    def close(self) -> None: ...


class SqliteDatabase:
    """SQLite in WAL mode; the schema version is ``PRAGMA user_version``."""

    kind = "sqlite"
    errors: tuple[type[BaseException], ...] = (sqlite3.Error,)

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            str(path), check_same_thread=False, isolation_level=None, timeout=30
        )
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            # PostgreSQL's sha256(bytea), which a schema script may use (v3 does)
            self._db.create_function("sha256", 1, _sha256, deterministic=True)
        except BaseException:
            self._db.close()
            raise

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Cursor:
        return self._db.execute(sql, tuple(args))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._db.executemany(sql, rows)

    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cur = self._db.execute(sql, tuple(args))
        names = [d[0] for d in cur.description or ()]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def run_script(self, script: str, version: int) -> None:
        # executescript commits first; the script runs as one transaction of its own.
        self._db.executescript(f"BEGIN;{script}PRAGMA user_version={version};COMMIT;")

    def version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    @property
    def in_transaction(self) -> bool:
        return self._db.in_transaction

    def begin(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def close(self) -> None:
        self._db.close()


def _sha256(data: bytes | str | None) -> bytes | None:
    if data is None:
        return None
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).digest()


_IDENTITY = "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
_PG_TYPES = (
    (re.compile(r"INTEGER PRIMARY KEY AUTOINCREMENT"), _IDENTITY),
    (re.compile(r"\bBLOB\b"), "BYTEA"),
    (re.compile(r"\bREAL\b"), "DOUBLE PRECISION"),
    (re.compile(r"\bINTEGER\b"), "BIGINT"),
)  # fmt: skip


def postgres_script(script: str) -> str:
    """A schema script written for SQLite, in PostgreSQL's types."""
    for pattern, replacement in _PG_TYPES:
        script = pattern.sub(replacement, script)
    return script


class PostgresDatabase:
    """PostgreSQL through psycopg 3 (autocommit; the store opens its own transactions).

    The schema version is the one row of table ``dashboard_schema``.
    """

    kind = "postgresql"

    def __init__(self, url: str) -> None:
        import psycopg
        from psycopg.rows import dict_row

        self._psycopg = psycopg
        self._dict_row = dict_row
        self.errors: tuple[type[BaseException], ...] = (psycopg.Error,)
        self._db = psycopg.connect(url, autocommit=True)

    @staticmethod
    def _sql(sql: str) -> str:
        return sql.replace("?", "%s")

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Cursor:
        return self._db.execute(self._sql(sql), tuple(args))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self._db.cursor() as cur:
            cur.executemany(self._sql(sql), [tuple(r) for r in rows])

    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._db.cursor(row_factory=self._dict_row) as cur:
            cur.execute(self._sql(sql), tuple(args))
            return list(cur.fetchall())

    def run_script(self, script: str, version: int) -> None:
        with self._db.transaction():
            self._db.execute(postgres_script(script))
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS dashboard_schema (version BIGINT NOT NULL);"
                "DELETE FROM dashboard_schema"
            )
            self._db.execute("INSERT INTO dashboard_schema VALUES (%s)", (version,))

    def version(self) -> int:
        exists = self._db.execute("SELECT to_regclass('dashboard_schema')").fetchone()
        if exists is None or exists[0] is None:
            return 0
        row = self._db.execute("SELECT version FROM dashboard_schema").fetchone()
        return 0 if row is None else int(row[0])

    @property
    def in_transaction(self) -> bool:
        status = self._db.info.transaction_status
        return bool(status != self._psycopg.pq.TransactionStatus.IDLE)

    def begin(self) -> None:
        self._db.execute("BEGIN")

    def close(self) -> None:
        self._db.close()


def open_database(path: Path, url: str = "") -> Database:
    """PostgreSQL when ``url`` is a ``postgresql://`` URL, else SQLite at ``path``.

    Raises:
        ValueError: a URL of another kind.
    """
    if not url:
        return SqliteDatabase(path)
    if not url.startswith(("postgresql://", "postgres://")):
        raise ValueError(f"database URL {url.split('@')[-1]!r} is not postgresql://")
    return PostgresDatabase(url)
