"""Logs under systemd (JOURNAL_STREAM is our stderr) and elsewhere, in fresh processes."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from device.logs import JournalFormatter, syslog_priority

SCRIPT = """
import logging
from device.cli import _setup_logging
_setup_logging(0)
log = logging.getLogger("dermocap.test")
log.debug("debug line")
log.info("info line")
log.warning("warning line")
try:
    1 / 0
except ZeroDivisionError:
    log.exception("it failed")
"""


def run(tmp_path: Path, *, journal: bool, argv: list[str] | None = None) -> str:
    """Run dermocap code with stderr to a file; under "systemd" JOURNAL_STREAM names it."""
    err = tmp_path / "stderr"
    env = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
    with err.open("w") as f:
        if journal:
            st = os.fstat(f.fileno())
            env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
        cmd = argv or [sys.executable, "-c", SCRIPT]
        subprocess.run(cmd, stderr=f, env=env, timeout=120, check=True)
    return err.read_text()


def test_under_systemd_every_line_has_a_priority_and_no_timestamp(tmp_path: Path) -> None:
    lines = run(tmp_path, journal=True).splitlines()
    assert all(re.match(r"<[0-7]>", line) for line in lines), lines
    assert "<6>dermocap.test: info line" in lines  # INFO by default
    assert "<4>dermocap.test: warning line" in lines
    assert "<3>dermocap.test: it failed" in lines
    assert "<3>ZeroDivisionError: division by zero" in lines  # the traceback too
    assert not any("debug line" in line for line in lines)
    assert not any(re.search(r"\d\d:\d\d:\d\d", line) for line in lines)


def test_elsewhere_logs_are_as_before(tmp_path: Path) -> None:
    text = run(tmp_path, journal=False)
    assert "info line" not in text  # WARNING by default
    assert re.search(
        r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ WARNING dermocap.test: warning", text, re.M
    )
    assert not re.search(r"^<\d>", text, re.M)


def test_a_journal_stream_that_is_not_our_stderr_is_ignored(tmp_path: Path) -> None:
    """A child of the service writing to a file: its lines stay plain."""
    err = tmp_path / "other"
    err.write_text("")
    st = err.stat()
    env = {**os.environ, "JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}
    with (tmp_path / "stderr").open("w") as f:
        subprocess.run([sys.executable, "-c", SCRIPT], stderr=f, env=env, timeout=120, check=True)
    assert "<4>" not in (tmp_path / "stderr").read_text()


def test_the_service_command_logs_info_to_the_journal(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("dermocap")
    text = run(tmp_path, journal=True, argv=[str(exe), "status-light", "error", "--for-s", "0"])
    assert "<6>device.status_cmd: status light shows 'error' until stopped" in text


@pytest.mark.parametrize(
    ("level", "priority"), [(50, 2), (40, 3), (30, 4), (25, 6), (20, 6), (10, 7), (5, 7)]
)
def test_levels_map_to_syslog_priorities(level: int, priority: int) -> None:
    assert syslog_priority(level) == priority
    rec = logging.LogRecord("n", level, "f", 1, "a\nb", None, None)
    assert JournalFormatter().format(rec) == f"<{priority}>n: a\n<{priority}>b"
