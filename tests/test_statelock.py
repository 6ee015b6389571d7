"""One process per state folder: a second serve, calibrate or capture is refused by name."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dermocap.errors import StateDirBusy
from dermocap.statelock import LOCK_NAME, StateDirLock
from device.cli import main
from device.config import load_config
from device.serve import ServeApp

HOLD = (
    "import sys\n"
    "from dermocap.statelock import StateDirLock\n"
    "lock = StateDirLock(sys.argv[1])\n"
    "print('held', flush=True)\n"
    "sys.stdin.read()\n"
)


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding ``tmp_path/state``; it says so before the test goes on."""
    with subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path / "state")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None and proc.stdout.readline() == "held\n"
            yield proc
        finally:
            proc.kill()
            proc.wait(10)


def test_a_second_holder_is_refused_with_the_first_ones_pid(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    with pytest.raises(StateDirBusy, match=rf"in use by process {holder.pid}\b") as err:
        StateDirLock(tmp_path / "state")
    assert err.value.pid == holder.pid


def test_a_killed_holder_leaves_no_stale_lock(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(10)
    with StateDirLock(tmp_path / "state") as lock:
        assert lock.held
        assert (tmp_path / "state" / LOCK_NAME).read_text() == f"{os.getpid()}\n"
    assert not lock.held
    lock.close()  # idempotent
    with StateDirLock(tmp_path / "state"):  # released at close
        pass


def test_serve_refuses_a_held_state_dir_before_touching_it(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    state = tmp_path / "state"
    with pytest.raises(StateDirBusy, match=str(holder.pid)):
        ServeApp(load_config(None), state_dir=state, environ={})
    # no outbox opened, no capture recovered or removed: the folder holds the lock file only
    assert sorted(p.name for p in state.iterdir()) == [LOCK_NAME]


@pytest.mark.parametrize("command", ["calibrate", "capture"])
def test_calibrate_and_capture_refuse_a_held_state_dir(
    tmp_path: Path,
    holder: subprocess.Popen[str],
    capsys: pytest.CaptureFixture[str],
    command: str,
) -> None:
    argv = [command, "--state-dir", str(tmp_path / "state")]
    if command == "capture":
        argv += ["--subject", "P00042", "--site", "vertex", "--visit", "baseline"]
    assert main(argv) == 1
    assert f"in use by process {holder.pid}" in capsys.readouterr().err
