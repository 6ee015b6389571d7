"""The twin's stage motor, backlash, home switch, button and LED rings on gpiozero mock pins."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from gpiozero.pins.mock import MockFactory, MockPin, MockPWMPin

from dermocap.clock import Clock
from dermocap.errors import SimError
from dermocap.resource import Closeable

log = logging.getLogger(__name__)

PinObserver = Callable[["TwinPin", float, float], None]
"""Called as ``observer(pin, old_state, new_state)`` on the thread that changed the pin."""

# The home switch's lever closes this far above the mechanical end of travel.
SWITCH_TRAVEL_MM = 0.02


class TwinPin(MockPWMPin):  # type: ignore[misc]  # gpiozero is untyped
    """A :class:`MockPWMPin` that reports every change to observers, with a bounded history.

    ``external_level`` is a level imposed from outside the Pi (a closed switch to ground):
    while it is set, the pull resistor cannot change the pin, as on a real board. ``states``
    keeps about the last :attr:`max_states` changes, so a long twin run does not grow.
    """

    max_states = 10_000

    def __init__(self, factory: Any, info: Any) -> None:
        self._observers: list[PinObserver] = []
        self.external_level: bool | None = None
        super().__init__(factory, info)

    def add_observer(self, observer: PinObserver) -> None:
        """Call ``observer(pin, old, new)`` after each change of state."""
        self._observers.append(observer)

    def remove_observer(self, observer: PinObserver) -> None:
        """Stop calling ``observer``; unknown observers are ignored."""
        if observer in self._observers:
            self._observers.remove(observer)

    def _change_state(self, value: float) -> bool:
        old = float(self._state)
        changed = bool(super()._change_state(value))
        if changed:
            states = self.states
            # Trim in chunks: deleting from the front of a list on every change is O(n).
            if len(states) > self.max_states + self.max_states // 4:
                del states[: len(states) - self.max_states]
            new = float(value)
            for observer in tuple(self._observers):  # an observer may remove itself
                observer(self, old, new)
        return changed

    def drive_high(self) -> None:
        if self.external_level is None or self.external_level:
            super().drive_high()

    def drive_low(self) -> None:
        if self.external_level is None or not self.external_level:
            super().drive_low()

    def set_external_level(self, level: bool | None) -> None:
        """Impose ``level`` from outside (``None``: released, the pull resistor decides).

        Raises:
            SimError: the pin is an output; driving it from outside would short it.
        """
        if self.function != "input":
            raise SimError(f"{self!r} is an output; the twin can only drive input pins")
        self.external_level = level
        if level is None:
            if self.pull == "up":
                MockPin.drive_high(self)
            elif self.pull == "down":
                MockPin.drive_low(self)
        elif level:
            MockPin.drive_high(self)
        else:
            MockPin.drive_low(self)


class TwinMechanics(Closeable):
    """Physics behind the rig's pins: Z motor with backlash, home switch, button, LED rings.

    Build it on a fresh ``MockFactory(pin_class=MockPWMPin)`` *before* the device classes:
    it creates its pins as :class:`TwinPin`, and gpiozero then hands the same pins to the
    devices. A rising edge on ``step`` while ``enable`` is low turns the motor one microstep
    in the direction set by ``dir``. The carriage follows the motor with a dead band of
    ``backlash_mm``; it cannot go below z = 0 (the motor stalls there), and the home switch
    pulls its pin low while the carriage is within :data:`SWITCH_TRAVEL_MM` of that end.
    """

    def __init__(
        self,
        factory: MockFactory,
        *,
        step_pin: int | str,
        dir_pin: int | str,
        enable_pin: int | str,
        limit_pin: int | str,
        button_pin: int | str,
        cross_pin: int | str,
        parallel_pin: int | str,
        dir_up_level: int,
        steps_per_mm: float,
        backlash_mm: float,
        start_z_mm: float,
        clock: Clock,
        switch_travel_mm: float = SWITCH_TRAVEL_MM,
    ) -> None:
        if not issubclass(factory.pin_class, MockPWMPin):
            raise SimError(
                "the twin needs PWM-capable mock pins: build the factory with "
                "MockFactory(pin_class=MockPWMPin)"
            )
        if steps_per_mm <= 0 or backlash_mm < 0 or start_z_mm < 0:
            raise SimError("steps_per_mm must be > 0; backlash_mm and start_z_mm >= 0")
        self._lock = threading.RLock()
        self._clock = clock
        self._steps_per_mm = steps_per_mm
        self._backlash_mm = backlash_mm
        self._dir_up_level = bool(dir_up_level)
        self._switch_travel_mm = switch_travel_mm
        self._pins: dict[str, TwinPin] = {}
        for role, name in (
            ("step", step_pin),
            ("dir", dir_pin),
            ("enable", enable_pin),
            ("limit", limit_pin),
            ("button", button_pin),
            ("cross", cross_pin),
            ("parallel", parallel_pin),
        ):
            pin = factory.pin(name, pin_class=TwinPin)
            if not isinstance(pin, TwinPin):
                raise SimError(
                    f"pin {name!r} ({role}) already exists as {type(pin).__name__}: build "
                    "TwinMechanics before the devices, on a fresh MockFactory"
                )
            self._pins[role] = pin
        # Power-on: the carriage rests on the motor's lower flank (it last moved down).
        self._motor_steps = round(start_z_mm * steps_per_mm)
        self._carriage_mm = self._motor_steps / steps_per_mm
        self._steps_made = 0
        self._stalled_steps = 0
        self._last_motion_s = clock.monotonic()
        self._closed = False
        self._switch_closed: bool | None = None
        self._update_switch()
        self._enable_pin, self._dir_pin = self._pins["enable"], self._pins["dir"]
        self._pins["step"].add_observer(self._on_step)

    # -- physics ----------------------------------------------------------------------------

    def _on_step(self, pin: TwinPin, old: float, new: float) -> None:
        if not new or old:
            return  # only a rising edge steps the driver
        with self._lock:
            if self._enable_pin.state:
                return  # driver disabled (enable is active low): the step is ignored
            up = bool(self._dir_pin.state) == self._dir_up_level
            motor = self._motor_steps + (1 if up else -1)
            motor_mm = motor / self._steps_per_mm
            if up:
                carriage = max(self._carriage_mm, motor_mm - self._backlash_mm)
            else:
                carriage = min(self._carriage_mm, motor_mm)
                if carriage < 0.0:
                    self._stalled_steps += 1  # pushing against the end stop: the motor stalls
                    return
            self._motor_steps = motor
            self._steps_made += 1
            if carriage != self._carriage_mm:
                self._carriage_mm = carriage
                self._last_motion_s = self._clock.monotonic()
                closed: bool | None = carriage <= self._switch_travel_mm + 1e-9
                if closed != self._switch_closed:  # the switch changes only at its travel
                    self._update_switch()

    def _update_switch(self) -> None:
        closed = self._carriage_mm <= self._switch_travel_mm + 1e-9
        pin = self._pins["limit"]
        level = False if closed else None
        if pin.external_level != level and pin.function == "input":
            pin.set_external_level(level)
        # Known only once the pin is an input that shows it; until then every step retries.
        self._switch_closed = closed if pin.external_level == level else None

    # -- what the optics and tests see ------------------------------------------------------

    @property
    def carriage_z_mm(self) -> float:
        """True height of the carriage above the mechanical end of travel, in mm."""
        with self._lock:
            return self._carriage_mm

    @property
    def backlash_mm(self) -> float:
        """The screw's play (lost motion on reversal), in mm."""
        with self._lock:
            return self._backlash_mm

    @backlash_mm.setter
    def backlash_mm(self, value: float) -> None:
        """Wear the screw (or mend it): the play from the next step on."""
        if not value >= 0.0:
            raise SimError(f"backlash_mm must be >= 0, got {value}")
        with self._lock:
            self._backlash_mm = value

    @property
    def motor_z_mm(self) -> float:
        """Motor (screw) position in mm; differs from the carriage by up to the backlash."""
        with self._lock:
            return self._motor_steps / self._steps_per_mm

    @property
    def switch_travel_mm(self) -> float:
        """Carriage height below which the home switch is closed."""
        return self._switch_travel_mm

    @property
    def steps_made(self) -> int:
        """Microsteps the motor turned since power-on (stalled ones not counted)."""
        with self._lock:
            return self._steps_made

    @property
    def stalled_steps(self) -> int:
        """Step pulses lost against the mechanical end of travel."""
        with self._lock:
            return self._stalled_steps

    @property
    def last_motion_s(self) -> float:
        """Clock time of the last carriage movement (for motion blur in the twin camera)."""
        with self._lock:
            return self._last_motion_s

    @property
    def switch_closed(self) -> bool:
        """True while the home switch holds its pin low."""
        return self._pins["limit"].external_level is False

    def pin(self, role: str) -> TwinPin:
        """The pin of ``role``: step, dir, enable, limit, button, cross or parallel."""
        return self._pins[role]

    def led_duty(self) -> dict[str, float]:
        """PWM duty (0..1) of each light ring as the pins see it; 0 when not driven as PWM."""
        with self._lock:
            return {role: self._duty(role) for role in ("cross", "parallel")}

    def led_frequency_hz(self) -> dict[str, float | None]:
        """PWM frequency of each light ring; ``None`` when the pin is not driven as PWM."""
        with self._lock:
            out: dict[str, float | None] = {}
            for role in ("cross", "parallel"):
                freq = self._pins[role].frequency
                out[role] = None if freq is None else float(freq)
            return out

    def _duty(self, role: str) -> float:
        pin = self._pins[role]
        if pin.function != "output":
            return 0.0
        return float(pin.state)

    # -- the technician ---------------------------------------------------------------------

    def press_button(self, hold_s: float = 0.0) -> None:
        """Close the capture button for ``hold_s`` real seconds, then let go.

        Real time on purpose: gpiozero measures the hold on its own thread with real time.
        The button's callbacks run on this thread (press, release) or gpiozero's (hold).
        """
        # No lock held here: the callbacks may well move the stage, on this very thread.
        pin = self._pins["button"]
        pin.set_external_level(False)
        if hold_s > 0:
            time.sleep(hold_s)
        pin.set_external_level(None)

    # -- lifecycle --------------------------------------------------------------------------

    def close(self) -> None:
        """Detach from the pins; idempotent. The factory's pins stay with their owners."""
        if self._closed:
            return
        self._closed = True
        self._pins["step"].remove_observer(self._on_step)
