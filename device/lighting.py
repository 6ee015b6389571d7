"""The two LED rings (cross-polarised and non-polarised) on PWM pins, with settle timing."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any, Literal

from gpiozero import PWMLED

from dermocap.clock import Clock
from dermocap.errors import HardwareError
from dermocap.resource import Closeable
from device.config import LightingConfig

log = logging.getLogger(__name__)

LightMode = Literal["cross", "parallel", "off"]


@dataclass(frozen=True)
class LightLevels:
    """Requested intensity of each ring, 0..1 (before scaling by the channel's max_duty)."""

    cross: float = 0.0
    parallel: float = 0.0

    @property
    def mode(self) -> Literal["cross", "parallel", "off", "mixed"]:
        """Which ring is lit: one of them, none ('off') or both ('mixed')."""
        if self.cross > 0 and self.parallel > 0:
            return "mixed"
        if self.cross > 0:
            return "cross"
        if self.parallel > 0:
            return "parallel"
        return "off"


def _check_intensity(name: str, value: float) -> float:
    if not (isinstance(value, int | float) and math.isfinite(value) and 0.0 <= value <= 1.0):
        raise ValueError(f"{name} intensity must be a number from 0 to 1, got {value!r}")
    return float(value)


class Lighting(Closeable):
    """Drives the cross-polarised and the non-polarised ring; at most ``max_duty`` each.

    Every change of level restarts the settle time (``settle_ms``): LED drivers and the
    camera's auto-exposure need it before a frame shows the new light.
    """

    def __init__(self, cfg: LightingConfig, *, pin_factory: Any, clock: Clock) -> None:
        self._cfg = cfg
        self._clock = clock
        self._closed = False
        self._leds: dict[str, Any] = {}
        self._levels = LightLevels()
        self._settled_at_s = clock.monotonic()
        try:
            for name, channel in (("cross", cfg.cross), ("parallel", cfg.parallel)):
                self._leds[name] = PWMLED(
                    channel.pin, frequency=cfg.pwm_frequency_hz, pin_factory=pin_factory
                )
        except Exception:
            self.close()
            raise

    @property
    def levels(self) -> LightLevels:
        """The intensities last set (0..1 each)."""
        return self._levels

    @property
    def settled_at(self) -> float:
        """Clock time (``clock.monotonic()``, seconds) from which the light is stable."""
        return self._settled_at_s

    def set(self, mode: LightMode, intensity: float = 1.0) -> None:
        """Light one ring at ``intensity`` (0..1, scaled by its max_duty), the other off.

        ``mode='off'`` switches both off and ignores ``intensity``.

        Raises:
            ValueError: unknown mode, or intensity outside 0..1.
            HardwareError: the lighting was closed.
        """
        if mode == "off":
            self.set_levels(cross=0.0, parallel=0.0)
            return
        level = _check_intensity(str(mode), intensity)
        if mode == "cross":
            self.set_levels(cross=level, parallel=0.0)
        elif mode == "parallel":
            self.set_levels(cross=0.0, parallel=level)
        else:
            raise ValueError(f"unknown light mode {mode!r}: use 'cross', 'parallel' or 'off'")

    def set_levels(self, *, cross: float, parallel: float) -> None:
        """Set both rings at once, each 0..1 (scaled by its channel's max_duty).

        Raises:
            ValueError: an intensity outside 0..1.
            HardwareError: the lighting was closed.
        """
        new = LightLevels(
            cross=_check_intensity("cross", cross),
            parallel=_check_intensity("parallel", parallel),
        )
        if self._closed:
            raise HardwareError("the lighting is closed; create a new Lighting to use the LEDs")
        if new == self._levels:
            return
        self._leds["cross"].value = new.cross * self._cfg.cross.max_duty
        self._leds["parallel"].value = new.parallel * self._cfg.parallel.max_duty
        self._levels = new
        self._settled_at_s = self._clock.monotonic() + self._cfg.settle_ms / 1000.0
        log.debug("light cross=%.3f parallel=%.3f", new.cross, new.parallel)

    def off(self) -> None:
        """Switch both rings off."""
        self.set_levels(cross=0.0, parallel=0.0)

    def wait_settled(self) -> None:
        """Sleep (on the clock) until ``settle_ms`` have passed since the last change."""
        remaining_s = self._settled_at_s - self._clock.monotonic()
        if remaining_s > 0:
            self._clock.sleep(remaining_s)

    def close(self) -> None:
        """Switch the rings off and free their pins; idempotent."""
        if self._closed:
            return
        self._closed = True
        for led in reversed(list(self._leds.values())):
            led.off()
            led.close()
        self._leds.clear()
        self._levels = LightLevels()
