"""The twin's hand: the technician port on the twin, and a socket through which a script plays it.

:class:`TwinTechnician` implements :class:`capture.technician.Technician` on the twin: it
changes the scene at once (target or scalp under the lens, the rig moved as guided, a QA
reseat as a day at the clinic would perturb it) and, for tests and the demo, presses the
button, places the cone and changes the scalp. :class:`TwinHand` serves it on a socket.

Only ``dermocap serve`` on the twin backend opens one (``<state>/twin-hand.sock``): the
end-to-end tests, the benchmark and anyone exploring the service drive the running
process with it the way a technician drives a rig, through the mock button pin and by
moving the rig on the scalp. Each request is one datagram of JSON; the reply goes back
to the sender's own bound socket::

    {"do": "press"}                          a short press of the capture button
    {"do": "hold", "s": 1.5}                 press and hold
    {"do": "nudge", "dx_mm": 0.4, "dy_mm": 0, "drot_deg": 2}
    {"do": "place", "x_mm": 0, "y_mm": 0, "rotation_deg": 0}
    {"do": "scalp", "density_per_cm2": 150}  another subject's scalp
    {"do": "regrow", "factor": 1.2}          the same scalp months later, 1.2x the hairs
    {"do": "truth"}                          ground truth of the current view
    {"do": "target"}                         the reference target under the cone (light check)
    {"do": "subject"}                        the subject's scalp under the cone again
    {"do": "light"}                          what the status light shows, and what it means

Replies are ``{"ok": true, ...}`` or ``{"ok": false, "error": "..."}``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from capture.relocation import Guidance
from capture.technician import Technician
from dermocap.errors import SimError
from dermocap.resource import Startable
from sim.config import ScalpConfig
from sim.mechanics import TwinMechanics
from sim.twin import Twin

log = logging.getLogger(__name__)

MAX_DATAGRAM = 64 * 1024
HAND_SOCKET = "twin-hand.sock"  # its name in the service's state folder


class TwinPerturbation:
    """Perturbs the twin like a day at the clinic: the scalp sits up to +-1 mm nearer or
    farther, the rig lands up to +-0.5 mm (and +-3 deg) off the site, room light +-20 %,
    LED output down by up to 10 %."""

    def __init__(
        self,
        twin: Twin,
        *,
        z_mm: float = 1.0,
        offset_mm: float = 0.5,
        rotation_deg: float = 3.0,
        ambient: float = 0.2,
        led_loss: float = 0.1,
    ) -> None:
        self.twin = twin
        self._z0 = twin.z_focus_mm
        self._ambient0 = twin.ambient
        self._eff0 = twin.led_efficiency
        self.z_mm, self.offset_mm, self.rotation_deg = z_mm, offset_mm, rotation_deg
        self.ambient, self.led_loss = ambient, led_loss

    def __call__(self, run: int, rng: np.random.Generator) -> dict[str, float]:
        t = self.twin
        dz = float(rng.uniform(-self.z_mm, self.z_mm))
        x, y = (float(v) for v in rng.uniform(-self.offset_mm, self.offset_mm, 2))
        rot = float(rng.uniform(-self.rotation_deg, self.rotation_deg))
        amb = float(rng.uniform(-self.ambient, self.ambient))
        loss = float(rng.uniform(0.0, self.led_loss))
        t.z_focus_mm = self._z0 + dz
        t.place(x, y, rot)
        t.ambient = self._ambient0 * (1 + amb)
        t.led_efficiency = self._eff0 * (1 - loss)
        return {
            "z_focus_offset_mm": round(dz, 4),
            "site_x_mm": round(x, 4),
            "site_y_mm": round(y, 4),
            "site_rotation_deg": round(rot, 3),
            "ambient_change": round(amb, 4),
            "led_efficiency_loss": round(loss, 4),
        }

    def reset(self) -> None:
        t = self.twin
        t.z_focus_mm, t.ambient, t.led_efficiency = self._z0, self._ambient0, self._eff0
        t.place(0.0, 0.0, 0.0)


class TwinTechnician(Technician):
    """The technician port on the twin: a scripted hand that never waits.

    ``twin`` and ``mechanics`` are the world it acts in (tests read their physics); the
    perturbation of a QA reseat is made on first use, from the twin as it is then.
    """

    def __init__(self, twin: Twin, mechanics: TwinMechanics) -> None:
        self.twin = twin
        self.mechanics = mechanics
        self._perturbation: TwinPerturbation | None = None

    @classmethod
    def of(cls, technician: Technician) -> TwinTechnician:
        """``technician`` as the twin's hand; SimError if it is a person's port.

        For code that only runs on the twin (tests, the demo, benchmarks).
        """
        if not isinstance(technician, cls):
            raise SimError(f"this needs the twin's hand, not {type(technician).__name__}")
        return technician

    # -- the port ------------------------------------------------------------------------
    def place_target(self) -> None:
        self.twin.show_target()

    def place_subject(self) -> None:
        self.twin.show_subject()

    def follow(self, guidance: Guidance) -> None:
        """Follows the guidance exactly."""
        self.twin.nudge(guidance.dx_mm, guidance.dy_mm, guidance.drot_deg)

    def reseat(self, run: int, rng: np.random.Generator) -> dict[str, float]:
        if self._perturbation is None:
            self._perturbation = TwinPerturbation(self.twin)
        return self._perturbation(run, rng)

    def known_truth(self) -> dict[str, Any]:
        return {"twin_true_um_per_px": self.twin.true_um_per_px}

    # -- the scripted technician's other moves (tests, demo, the hand socket) -------------
    def press_button(self, hold_s: float = 0.0) -> None:
        """Press the capture button through its mock pin for ``hold_s`` seconds (0: a tap)."""
        self.mechanics.press_button(hold_s)

    def place(self, x_mm: float = 0.0, y_mm: float = 0.0, rotation_deg: float = 0.0) -> None:
        """Put the cone down at this offset from the marked site."""
        self.twin.place(x_mm, y_mm, rotation_deg)

    def set_scalp(self, scalp: ScalpConfig) -> None:
        """Another subject's scalp under the cone."""
        self.twin.set_scalp(scalp)

    def regrow(self, factor: float, seed: int = 0) -> None:
        """The same scalp months later, ``factor`` times the hairs."""
        self.twin.regrow(factor, seed)

    def truth(self) -> dict[str, Any]:
        """Ground truth of the current view (see :meth:`sim.twin.Twin.truth`)."""
        return self.twin.truth()


class TwinHand(Startable):
    """Serves hand requests on a UNIX datagram socket at ``path`` (one thread)."""

    def __init__(
        self,
        path: Path,
        hand: TwinTechnician,
        light: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        """``light`` tells what the status light shows (the rig's wiring passes it in)."""
        self.path = Path(path)
        self.hand = hand
        self.light = light
        self.twin = hand.twin
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._actions: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "press": lambda r: self._press(0.0),
            "hold": lambda r: self._press(float(r.get("s", 1.5))),
            "nudge": self._nudge,
            "place": self._place,
            "scalp": self._scalp,
            "regrow": self._regrow,
            "truth": lambda r: {"truth": _without_hairs(self.twin.truth())},
            # the reference target under the cone and back (the daily light check)
            "target": lambda r: self._under_cone("target"),
            "subject": lambda r: self._under_cone("subject"),
            "light": self._light,
        }

    def start(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # a socket file left by a killed process
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)  # the service's state folder
            sock.bind(str(self.path))
        except OSError as exc:
            sock.close()
            raise SimError(f"cannot open the twin's hand socket {self.path}: {exc}") from exc
        sock.settimeout(0.2)
        self._sock = sock
        self._thread = threading.Thread(target=self._serve, name="twin-hand", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
            self._thread = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
            with contextlib.suppress(OSError):
                self.path.unlink()

    # -- requests ------------------------------------------------------------------------
    def _serve(self) -> None:
        sock = self._sock
        while sock is not None and not self._stop.is_set():
            try:
                data, sender = sock.recvfrom(MAX_DATAGRAM)
            except TimeoutError:
                continue
            except OSError:
                return
            reply = self.handle(data)
            if sender:
                with contextlib.suppress(OSError):
                    sock.sendto(json.dumps(reply).encode(), sender)

    def handle(self, data: bytes) -> dict[str, Any]:
        """Act on one request; never raises."""
        try:
            req = json.loads(data.decode("utf-8"))
            if not isinstance(req, dict):
                raise ValueError("a request is a JSON object")
            action = self._actions.get(str(req.get("do")))
            if action is None:
                raise ValueError(
                    f"unknown action {req.get('do')!r}; known: {sorted(self._actions)}"
                )
            return {"ok": True, **action(req)}
        except (ValueError, TypeError, SimError) as exc:
            return {"ok": False, "error": str(exc)}

    def _press(self, hold_s: float) -> dict[str, Any]:
        # Off this thread: a hold takes real time, and the reply should say it began.
        threading.Thread(
            target=self.hand.press_button, args=(hold_s,), name="twin-press", daemon=True
        ).start()
        return {"pressed_s": hold_s}

    def _under_cone(self, what: str) -> dict[str, Any]:
        (self.hand.place_target if what == "target" else self.hand.place_subject)()
        return {"under_cone": what}

    def _light(self, r: dict[str, Any]) -> dict[str, Any]:
        if self.light is None:
            raise ValueError("this hand has no status light to look at")
        return self.light()

    def _nudge(self, r: dict[str, Any]) -> dict[str, Any]:
        self.twin.nudge(
            float(r.get("dx_mm", 0.0)), float(r.get("dy_mm", 0.0)), float(r.get("drot_deg", 0.0))
        )
        return {"pose": list(self.twin.pose)}

    def _place(self, r: dict[str, Any]) -> dict[str, Any]:
        self.twin.place(
            float(r.get("x_mm", 0.0)), float(r.get("y_mm", 0.0)), float(r.get("rotation_deg", 0.0))
        )
        return {"pose": list(self.twin.pose)}

    def _regrow(self, r: dict[str, Any]) -> dict[str, Any]:
        self.twin.regrow(float(r.get("factor", 1.0)), int(r.get("seed", 0)))
        return {"factor": float(r.get("factor", 1.0))}

    def _scalp(self, r: dict[str, Any]) -> dict[str, Any]:
        from pydantic import ValidationError

        changes = {k: v for k, v in r.items() if k != "do"}
        try:
            scalp = self.twin.scalp_config.model_copy(update=changes)
            scalp = type(scalp).model_validate(scalp.model_dump())
        except ValidationError as exc:
            raise ValueError(f"bad scalp change: {exc}") from None
        self.twin.set_scalp(scalp)
        return {"scalp": scalp.model_dump()}


def _without_hairs(truth: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in truth.items() if k != "hairs"}


def hand(path: Path, request: dict[str, Any], *, timeout_s: float = 10.0) -> dict[str, Any]:
    """Send one request to a running twin's hand and return its reply.

    Raises:
        SimError: no service is listening at ``path``, or it did not answer in time.
    """
    with tempfile.TemporaryDirectory(prefix="dermocap-hand-") as tmp:
        me = os.path.join(tmp, "c.sock")
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.bind(me)
            sock.settimeout(timeout_s)
            try:
                sock.sendto(json.dumps(request).encode(), str(path))
                data = sock.recv(MAX_DATAGRAM)
            except (OSError, TimeoutError) as exc:
                raise SimError(
                    f"no twin hand at {path} ({exc}): is `dermocap serve` running on the twin?"
                ) from exc
    reply: dict[str, Any] = json.loads(data.decode("utf-8"))
    return reply
