"""A real PostgreSQL server the tests start themselves: initdb in a temp folder, a free port.

As root the server runs as ``nobody`` (PostgreSQL refuses to run as root); the folder is
removed after. The fixtures skip with a clear reason only when PostgreSQL's binaries are
missing (scripts/test.sh installs the ``postgresql`` package).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from dermocap.ids import uuid7
from sync.broker import free_port


def postgres_bindir() -> Path | None:
    """The folder of initdb and pg_ctl, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


@pytest.fixture(name="postgres_server", scope="session")
def postgres_server_fixture() -> Iterator[str]:
    """URL (without database name) of a throwaway server, trust auth on 127.0.0.1."""
    bindir = postgres_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed; scripts/test.sh installs the postgresql package")
    folder = Path(tempfile.mkdtemp(prefix="dermocap-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        os.chown(folder, nobody.pw_uid, nobody.pw_gid)
        run_as = ["runuser", "-u", "nobody", "--"]
    data, port = folder / "data", free_port()
    pg_ctl = [*run_as, str(bindir / "pg_ctl"), "-D", str(data)]
    try:
        subprocess.run(
            [*run_as, str(bindir / "initdb"), "-D", str(data), "-U", "dermocap",
             "--auth=trust", "-E", "UTF8", "--no-sync"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        subprocess.run(
            [*pg_ctl, "-l", str(folder / "server.log"), "-w", "-t", "60", "-o",
             f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off", "start"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        yield f"postgresql://dermocap@127.0.0.1:{port}"
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(name="postgres_url")
def postgres_url_fixture(postgres_server: str) -> str:
    """A new empty database on the test server."""
    import psycopg

    name = f"t{uuid7().hex[:16]}"
    with psycopg.connect(f"{postgres_server}/postgres", autocommit=True) as con:
        con.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
    return f"{postgres_server}/{name}"
