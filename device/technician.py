"""The technician port on a real rig: ask the person at the chair and wait for them.

Two ways to ask (see :class:`capture.technician.Technician` for the contract):

* :class:`ButtonTechnician`, the headless rig: the status light shows what to do
  (``place_target``, ``place_subject``, ``relocate``) and a short press of the capture
  button says it is done. Waits run on the injected clock.
* :class:`TerminalTechnician`, a command run from a terminal: a prompt on one stream and
  Enter on the other.

``device/rig.py`` picks one; the twin's scripted hand is in ``sim/hand.py``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol, TextIO

import numpy as np

from capture.relocation import Guidance
from capture.technician import Technician
from dermocap.clock import Clock
from dermocap.errors import TechnicianTimeout


class PromptLight(Protocol):
    """What the button technician needs of the status light (device.status.StatusIndicator)."""

    @property
    def current(self) -> str | None: ...

    def show(self, name: str) -> None: ...


class ButtonTechnician(Technician):
    """Asks through the status light; a short press of the capture button answers.

    The rig hands every short press to :meth:`press` first: while a wait is open the press
    is the answer (not a capture), otherwise it goes on to the service.

    Args:
        status: the status light; the pattern shown before a wait is shown again after it.
        clock: waits poll on this clock every ``poll_s`` seconds.
        place_wait_s: how long :meth:`place_target` / :meth:`place_subject` wait for the press
            before raising TechnicianTimeout.
        follow_wait_s: how long :meth:`follow` waits for the press before the next comparison
            (a press ends the wait early).
        tell: called with each guidance before waiting (the service publishes it, so the
            dashboard shows the move: the rig has no screen).
    """

    def __init__(
        self,
        status: PromptLight,
        *,
        clock: Clock,
        place_wait_s: float = 120.0,
        follow_wait_s: float = 5.0,
        tell: Callable[[Guidance], None] | None = None,
        poll_s: float = 0.05,
    ) -> None:
        self.status = status
        self.clock = clock
        self.place_wait_s = place_wait_s
        self.follow_wait_s = follow_wait_s
        self.tell = tell
        self.poll_s = poll_s
        self._lock = threading.Lock()
        self._waiting = False
        self._answered = threading.Event()

    def press(self) -> bool:
        """A short press of the capture button (any thread): True if it answered a wait."""
        with self._lock:
            if not self._waiting:
                return False
            self._answered.set()
            return True

    def routed(self, on_press: Callable[[], None]) -> Callable[[], None]:
        """A button callback: a press answers an open wait, or else goes to ``on_press``."""

        def press() -> None:
            if not self.press():
                on_press()

        return press

    def _wait(self, pattern: str, wait_s: float) -> bool:
        """Show ``pattern`` until a press or ``wait_s``; True if pressed."""
        with self._lock:
            self._answered.clear()
            self._waiting = True
        before = self.status.current
        self.status.show(pattern)
        try:
            deadline = self.clock.monotonic() + wait_s
            while not self._answered.is_set():
                left_s = deadline - self.clock.monotonic()
                if left_s <= 0:
                    return False
                self.clock.sleep(min(self.poll_s, left_s))
            return True
        finally:
            with self._lock:
                self._waiting = False
            if before is not None:
                self.status.show(before)

    def place_target(self) -> None:
        if not self._wait("place_target", self.place_wait_s):
            raise TechnicianTimeout(
                f"nobody confirmed the reference target within {self.place_wait_s:g} s: put it "
                "under the cone and press the capture button when the light asks"
            )

    def place_subject(self) -> None:
        if not self._wait("place_subject", self.place_wait_s):
            raise TechnicianTimeout(
                f"nobody confirmed the cone on the site within {self.place_wait_s:g} s: put "
                "it on the marked site and press the capture button when the light asks"
            )

    def follow(self, guidance: Guidance) -> None:
        if self.tell is not None:
            self.tell(guidance)
        self._wait("relocate", self.follow_wait_s)

    def reseat(self, run: int, rng: np.random.Generator) -> dict[str, float]:
        self.place_subject()  # lift the rig, put it back on the phantom, press
        return {}


class TerminalTechnician(Technician):
    """Asks on ``out`` and waits for Enter on ``inp`` (a command run from a terminal)."""

    def __init__(self, inp: TextIO, out: TextIO) -> None:
        self.inp = inp
        self.out = out

    def _ask(self, text: str) -> bool:
        """Print ``text``; True once Enter came, False at the end of the input."""
        print(text, file=self.out)
        print("press Enter when done ", end="", file=self.out, flush=True)
        return bool(self.inp.readline())

    def _must_ask(self, text: str) -> None:
        if not self._ask(text):
            raise TechnicianTimeout(f"no answer (end of input) to: {text}")

    def place_target(self) -> None:
        self._must_ask("place the reference target (grey patch + mm grid) under the cone")

    def place_subject(self) -> None:
        self._must_ask("place the cone on the subject's marked site (or the phantom)")

    def follow(self, guidance: Guidance) -> None:
        self._ask(guidance.text)

    def reseat(self, run: int, rng: np.random.Generator) -> dict[str, float]:
        self._must_ask(f"run {run + 1}: lift the rig off the phantom and put it back")
        return {}
