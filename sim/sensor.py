"""The twin's sensor in a process of its own, as a rig's sensor works outside the service.

On a Raspberry Pi the frames are made by the camera module, libcamera and the ISP; the
service only receives them. In the twin, rendering a frame needs the scene at full
resolution (reflectance maps, blur caches, noise fields: hundreds of MB), which no rig's
service carries. :class:`SensorProcess` renders in a child process instead: the service
process then holds only what it holds on a rig, and its memory figure means something.

Each request carries a :class:`TwinState` snapshot (scene, pose, stage z, LED duty), so the
child's twin is a pure function of what the parent's twin says; it replays scene changes
(a new scalp, regrowth) in the same order and draws its noise from the same seed, so
frames match an in-process twin. The child exits when the parent's end of the socket closes,
including when the parent is killed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from dermocap.errors import CameraError
from dermocap.resource import Closeable
from sim.config import ScalpConfig, SimConfig

log = logging.getLogger(__name__)

SceneName = Literal["scalp", "target", "phantom"]


@dataclass(frozen=True)
class TwinState:
    """What a frame depends on besides the camera controls (picklable)."""

    scene_name: SceneName
    scene_version: int
    scalp: ScalpConfig
    regrowths: tuple[tuple[float, int], ...]  # (factor, seed) applied since ``scalp`` was set
    pose: tuple[float, float, float]
    z_mm: float
    duty: tuple[float, float]  # cross, parallel
    motion_px_per_frame: float


def _serve(conn: Connection) -> None:
    """The child: one Twin without pins, driven by the snapshots it is sent."""
    from sim.twin import Twin

    try:
        cfg, kwargs = conn.recv()
    except (EOFError, OSError):
        return
    twin = Twin(cfg, **kwargs)
    version = 0
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return  # the service closed its end or died
        if msg is None:
            return
        state, controls = msg
        try:
            if state.scene_version != version:
                twin.set_scalp(state.scalp)
                for factor, seed in state.regrowths:
                    twin.regrow(factor, seed)
                version = state.scene_version
            if state.scene_name == "target":
                twin.show_target()
            else:
                twin.show_subject()
            twin.pose = state.pose
            twin.z_mm = state.z_mm
            twin.set_duty(*state.duty)
            twin.motion_px_per_frame = state.motion_px_per_frame
            frame = twin.render(**controls)
        except Exception as exc:  # reported to the service, which raises it as CameraError
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
            continue
        conn.send(("frame", frame.shape))
        conn.send_bytes(np.ascontiguousarray(frame).reshape(-1).data)


class SensorProcess(Closeable):
    """Renders twin frames in a child process, ``python -m sim.sensor``, over a socket pair.

    A fresh interpreter, not a fork (the service has threads) nor multiprocessing's spawn
    (which re-imports the parent's main module).

    Args:
        cfg: the sim config the parent's twin was built from.
        twin_kwargs: the parent twin's ``nominal_um_per_px``, ``full_width`` and ``seed``.

    Raises:
        CameraError: the process could not be started.
    """

    def __init__(self, cfg: SimConfig, twin_kwargs: dict[str, Any]) -> None:
        ours, theirs = socket.socketpair()
        root = str(Path(__file__).resolve().parent.parent)  # where this package is imported from
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p),
        }
        try:
            self._proc = subprocess.Popen(  # noqa: S603 - our own module, argv built here
                [sys.executable, "-m", "sim.sensor", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                env=env,
            )
        except OSError as exc:
            ours.close()
            raise CameraError(f"cannot start the twin's sensor process: {exc}") from exc
        finally:
            theirs.close()
        self._conn = Connection(ours.detach())
        self._lock = threading.Lock()
        self._closed = False
        self._conn.send((cfg, twin_kwargs))

    @property
    def pid(self) -> int:
        return self._proc.pid

    def render(self, state: TwinState, controls: dict[str, Any]) -> NDArray[np.uint8]:
        """One frame, RGB uint8 (h, w, 3), rendered by the child.

        Raises:
            CameraError: the sensor process failed or is gone.
        """
        with self._lock:
            if self._closed:
                raise CameraError("the twin's sensor process is closed")
            try:
                self._conn.send((state, controls))
                kind, info = self._conn.recv()
                if kind == "error":
                    raise CameraError(f"the twin's sensor failed: {info}")
                h, w, c = info
                buf = bytearray(h * w * c)
                self._conn.recv_bytes_into(buf)
            except (EOFError, OSError) as exc:
                raise CameraError(
                    f"the twin's sensor process is gone ({exc or 'pipe closed'}): restart the "
                    "service"
                ) from exc
        out: NDArray[np.uint8] = np.frombuffer(buf, dtype=np.uint8).reshape(h, w, c)
        return out

    def close(self) -> None:
        """Stop the child (a second call does nothing)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            with contextlib.suppress(OSError):
                self._conn.send(None)
            self._conn.close()
        try:
            self._proc.wait(5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(5)


if __name__ == "__main__":
    _serve(Connection(int(sys.argv[1])))
