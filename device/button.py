"""The technician's capture button: a short press captures, a long hold cancels or retakes."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from gpiozero import Button

from dermocap.resource import Closeable
from device.config import ButtonConfig

log = logging.getLogger(__name__)


class CaptureButton(Closeable):
    """Tells a press from a hold, deciding on release.

    gpiozero fires ``when_pressed`` before it can know whether a hold follows, so nothing is
    decided on the way down: released before ``hold_s`` calls ``on_press()``, released after
    it calls ``on_hold()``. ``on_hold_reached()`` fires the moment ``hold_s`` passes while
    still pressed (a chirp tells the technician to let go). All callbacks run on gpiozero's
    threads (or the mock pin's caller): keep them short and hand real work to another thread.
    """

    def __init__(
        self,
        cfg: ButtonConfig,
        *,
        pin_factory: Any,
        on_press: Callable[[], None],
        on_hold: Callable[[], None],
        on_hold_reached: Callable[[], None] | None = None,
    ) -> None:
        self._cfg = cfg
        self._on_press = on_press
        self._on_hold = on_hold
        self._on_hold_reached = on_hold_reached
        self._lock = threading.Lock()
        self._pressed_at_s: float | None = None
        self._hold_reached = False
        self._closed = False
        self._button: Any = Button(
            cfg.pin,
            pull_up=True,
            bounce_time=cfg.bounce_s or None,
            hold_time=cfg.hold_s,
            pin_factory=pin_factory,
        )
        self._button.when_pressed = self._pressed
        self._button.when_held = self._held
        self._button.when_released = self._released

    @property
    def is_pressed(self) -> bool:
        """True while the button is down."""
        return bool(self._button.is_pressed)

    def _pressed(self) -> None:
        with self._lock:
            self._pressed_at_s = time.monotonic()
            self._hold_reached = False

    def _held(self) -> None:
        with self._lock:
            if self._pressed_at_s is None:
                return  # released while gpiozero's hold thread was waking up
            self._hold_reached = True
        if self._on_hold_reached is not None:
            self._call(self._on_hold_reached, "on_hold_reached")

    def _released(self) -> None:
        with self._lock:
            pressed_at_s = self._pressed_at_s
            self._pressed_at_s = None
            if pressed_at_s is None:
                return  # a release without a press (pin state at start-up)
            # The duration check backs up the hold thread, which may lag under load.
            held = self._hold_reached or time.monotonic() - pressed_at_s >= self._cfg.hold_s
            self._hold_reached = False
        if held:
            self._call(self._on_hold, "on_hold")
        else:
            self._call(self._on_press, "on_press")

    @staticmethod
    def _call(callback: Callable[[], None], name: str) -> None:
        # Raising here would only kill gpiozero's event thread; the log is the one place
        # such a failure can be seen.
        try:
            callback()
        except Exception:
            log.exception("button callback %s failed", name)

    def close(self) -> None:
        """Detach the callbacks and free the pin; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._button.when_pressed = None
        self._button.when_held = None
        self._button.when_released = None
        self._button.close()
