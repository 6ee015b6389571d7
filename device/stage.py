"""Motorised Z stage: step/dir/enable driver, home switch, trapezoidal moves, backlash."""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

from gpiozero import DigitalInputDevice, DigitalOutputDevice, GPIODeviceClosed

from dermocap.clock import Clock
from dermocap.errors import EmergencyStop, StageError
from dermocap.resource import Closeable
from device.config import StageConfig

log = logging.getLogger(__name__)

# The slow re-touch runs at this share of the homing speed, so the switch trips within a step.
_RETOUCH_FRACTION = 0.2
# A4988 / DRV8825 need 200-650 ns between a dir change and the next step; 1 ms is ample
# and also lets a freshly enabled driver energise the coils before the first step.
_SETUP_S = 0.001
# Soft-limit comparisons tolerate float noise from mm <-> step conversions.
_EPS_MM = 1e-9


def step_intervals_s(
    n_steps: int,
    *,
    steps_per_mm: float,
    speed_mm_s: float,
    accel_mm_s2: float,
    decelerate: bool = True,
) -> Iterator[float]:
    """Wait after each of ``n_steps`` steps for a trapezoidal speed profile, in seconds.

    Speed ramps up at ``accel_mm_s2`` to ``speed_mm_s`` and, if ``decelerate``, down again
    towards the last step (a triangle when the move is too short to reach cruise speed).
    Without ``decelerate`` the move may be cut short at any step (homing towards a switch).
    """
    step_mm = 1.0 / steps_per_mm
    for i in range(n_steps):
        speed = min(speed_mm_s, math.sqrt(2.0 * accel_mm_s2 * (i + 1) * step_mm))
        if decelerate:
            speed = min(speed, math.sqrt(2.0 * accel_mm_s2 * (n_steps - i) * step_mm))
        yield step_mm / speed


class ZStage(Closeable):
    """The Z stage of the optics: homes on its limit switch, then moves within soft limits.

    Position is counted in integer microsteps from home (``position_steps``); z = 0 is where
    the home switch opens on a slow upward approach. Every move ends with an upward approach
    (a move down overshoots by ``backlash_mm`` and comes back up), so the screw's lost motion
    is always taken up on the same side and a z is reproduced to within a microstep, as long
    as the overshoot is at least the real play: calibration measures the play and sets it
    (:meth:`set_backlash_mm`).
    """

    def __init__(self, cfg: StageConfig, *, pin_factory: Any, clock: Clock) -> None:
        self._cfg = cfg
        self._clock = clock
        self._backlash_mm = cfg.backlash_mm
        self._closed = False
        self._homed = False
        self._position_steps = 0
        self._estop = threading.Event()
        self._motion = threading.Lock()
        self._devices: list[Any] = []
        try:
            # initial_value False with active_high False: enable pin high, driver off.
            self._enable = self._open(
                DigitalOutputDevice,
                cfg.enable_pin,
                active_high=False,
                initial_value=False,
                pin_factory=pin_factory,
            )
            self._dir = self._open(
                DigitalOutputDevice, cfg.dir_pin, initial_value=False, pin_factory=pin_factory
            )
            self._step = self._open(
                DigitalOutputDevice, cfg.step_pin, initial_value=False, pin_factory=pin_factory
            )
            self._limit = self._open(
                DigitalInputDevice, cfg.limit_pin, pull_up=True, pin_factory=pin_factory
            )
        except Exception:
            self.close()
            raise

    def _open(self, cls: Any, pin: int | str, **kwargs: Any) -> Any:
        device = cls(pin, **kwargs)
        self._devices.append(device)
        return device

    # -- state ------------------------------------------------------------------------------

    @property
    def is_homed(self) -> bool:
        """True once :meth:`home` succeeded and no emergency stop or lost step happened since."""
        return self._homed

    @property
    def is_moving(self) -> bool:
        """True while a home or move runs."""
        return self._motion.locked()

    @property
    def position_steps(self) -> int:
        """Position in microsteps from home; meaningful only while :attr:`is_homed`."""
        return self._position_steps

    @property
    def z_mm(self) -> float:
        """Position in mm above home; meaningful only while :attr:`is_homed`."""
        return self._position_steps / self._cfg.steps_per_mm

    @property
    def backlash_mm(self) -> float:
        """The overshoot of a move down: ``stage.backlash_mm``, or what calibration measured."""
        return self._backlash_mm

    def set_backlash_mm(self, backlash_mm: float) -> None:
        """Use ``backlash_mm`` (calibration measured the screw's play) instead of the config's.

        Raises:
            StageError: negative, not finite, or above ``min_mm`` (a move down to ``min_mm``
                would overshoot onto the home switch: the screw is worn, service the stage).
        """
        if not (math.isfinite(backlash_mm) and 0.0 <= backlash_mm <= self._cfg.min_mm + _EPS_MM):
            raise StageError(
                f"a backlash of {backlash_mm:.3f} mm does not fit above the home switch "
                f"(stage.min_mm = {self._cfg.min_mm:g} mm): the Z screw is worn; service the "
                "stage"
            )
        self._backlash_mm = backlash_mm

    @property
    def switch_closed(self) -> bool:
        """True while the home limit switch is closed (pin low)."""
        return bool(self._limit.is_active)

    # -- motion -----------------------------------------------------------------------------

    def home(self) -> None:
        """Find z = 0 on the limit switch, then move up to ``min_mm``.

        Down at homing speed until the switch closes, back off ``homing_backoff_mm`` up,
        re-touch slowly, then creep up until the switch opens: that point, reached upwards
        like every final approach, is z = 0.

        Raises:
            StageError: the switch never closed within ``max_travel_mm`` (wiring), stayed
                closed after backing off (stuck switch), or the stage is already moving.
            EmergencyStop: :meth:`emergency_stop` was called during homing.
        """
        cfg = self._cfg
        with self._motion_guard():
            self._estop.clear()
            self._homed = False
            self._enable_driver()
            try:
                self._home_sequence()
            except EmergencyStop:
                raise
            except StageError:
                self._enable.off()  # do not leave a motor stalled against an end stop
                raise
            self._position_steps = 0
            self._homed = True
            log.info("stage homed; moving to min_mm = %.3f", cfg.min_mm)
            self._goto_steps(self._steps(cfg.min_mm))

    def _home_sequence(self) -> None:
        cfg = self._cfg
        slow_mm_s = cfg.homing_speed_mm_s * _RETOUCH_FRACTION
        backlash = self._steps(self._backlash_mm)
        backoff = self._steps(cfg.homing_backoff_mm) + backlash
        if not self.switch_closed:
            self._run(
                self._steps(cfg.max_travel_mm),
                up=False,
                speed_mm_s=cfg.homing_speed_mm_s,
                stop_when=lambda: self.switch_closed,
                decelerate=False,
            )
            if not self.switch_closed:
                raise StageError(
                    f"home switch did not close after {cfg.max_travel_mm:g} mm of travel down: "
                    f"check the limit switch wiring (pin {cfg.limit_pin}, to ground) and that "
                    "nothing blocks the stage"
                )
        self._run(backoff, up=True, speed_mm_s=cfg.homing_speed_mm_s)
        if self.switch_closed:
            raise StageError(
                f"home switch still closed after backing off {cfg.homing_backoff_mm:g} mm: "
                f"check for a stuck switch or a short to ground on pin {cfg.limit_pin}"
            )
        self._run(
            2 * backoff,
            up=False,
            speed_mm_s=slow_mm_s,
            stop_when=lambda: self.switch_closed,
            decelerate=False,
        )
        if not self.switch_closed:
            raise StageError(
                "home switch did not close again on the slow re-touch: check that the switch "
                "is firmly mounted and not bouncing"
            )
        self._run(
            2 * backoff,
            up=True,
            speed_mm_s=slow_mm_s,
            stop_when=lambda: not self.switch_closed,
            decelerate=False,
        )
        if self.switch_closed:
            raise StageError(
                f"home switch did not open while creeping up: check pin {cfg.limit_pin}"
            )

    def move_to(self, z_mm: float, *, upward: bool = True) -> None:
        """Move to ``z_mm`` above home, ending with an upward approach.

        ``upward=False`` moves straight there: a move down then ends on the screw's other
        flank, off by its play; only for measuring that play (autofocus.measure_backlash).

        Raises:
            StageError: not homed, ``z_mm`` outside [min_mm, max_mm], already moving, or the
                home switch closed during a move down (position lost; home again).
            EmergencyStop: :meth:`emergency_stop` was called during the move.
        """
        cfg = self._cfg
        if not self._homed:
            raise StageError(
                "home the stage first: its position is unknown after power-on, an emergency "
                "stop or a failed move"
            )
        if not (math.isfinite(z_mm) and cfg.min_mm - _EPS_MM <= z_mm <= cfg.max_mm + _EPS_MM):
            raise StageError(
                f"z = {z_mm:.3f} mm is outside the soft limits [{cfg.min_mm:g}, {cfg.max_mm:g}] mm"
            )
        with self._motion_guard():
            if not self._homed:  # an emergency stop may have come in meanwhile
                raise StageError("home the stage first: an emergency stop intervened")
            self._enable_driver()
            if upward:
                self._goto_steps(self._steps(z_mm))
            else:
                self._move_steps(self._steps(z_mm))

    def move_by(self, dz_mm: float) -> None:
        """Move by ``dz_mm`` (positive is up); see :meth:`move_to`."""
        self.move_to(self.z_mm + dz_mm)

    def _goto_steps(self, target: int) -> None:
        backlash = self._steps(self._backlash_mm)
        if target < self._position_steps and backlash > 0:
            # Overshoot below and come back up, so the screw ends on its upward flank.
            self._move_steps(target - backlash)
        self._move_steps(target)

    def _move_steps(self, target: int) -> None:
        n = abs(target - self._position_steps)
        if n == 0:
            return
        up = target > self._position_steps
        made = self._run(
            n,
            up=up,
            speed_mm_s=self._cfg.speed_mm_s,
            stop_when=None if up else (lambda: self.switch_closed),
        )
        if made < n:
            self._homed = False
            raise StageError(
                f"home switch closed at z = {self.z_mm:.3f} mm while moving down: the stage "
                "lost its position (skipped steps or a loose coupling); home it again"
            )

    def _run(
        self,
        n_steps: int,
        *,
        up: bool,
        speed_mm_s: float,
        stop_when: Callable[[], bool] | None = None,
        decelerate: bool = True,
    ) -> int:
        """Make up to ``n_steps`` steps; stops early when ``stop_when()``; returns steps made."""
        cfg = self._cfg
        self._dir.value = cfg.dir_up_level if up else 1 - cfg.dir_up_level
        self._clock.sleep(_SETUP_S)
        sign = 1 if up else -1
        made = 0
        intervals = step_intervals_s(
            n_steps,
            steps_per_mm=cfg.steps_per_mm,
            speed_mm_s=speed_mm_s,
            accel_mm_s2=cfg.accel_mm_s2,
            decelerate=decelerate,
        )
        # The step pulses go to the pin itself (gpiozero's Pin API; the step output is active
        # high), not through OutputDevice.on/off: a move is thousands of steps, and each
        # device call costs a few microseconds of Python on a Pi.
        pin = self._step.pin
        estop = self._estop
        for interval_s in intervals:
            if estop.is_set():
                raise EmergencyStop(
                    f"emergency stop at z = {self.z_mm:.3f} mm: motion aborted and motor "
                    "released; home the stage before moving it again"
                )
            if stop_when is not None and stop_when():
                break
            pin.state = True  # one rising edge = one microstep; the pulse is >1 us anyway
            pin.state = False
            self._position_steps += sign
            made += 1
            self._clock.sleep(interval_s)
        return made

    def _steps(self, mm: float) -> int:
        return round(mm * self._cfg.steps_per_mm)

    def _enable_driver(self) -> None:
        if not self._enable.is_active:
            self._enable.on()
            self._clock.sleep(_SETUP_S)

    @contextmanager
    def _motion_guard(self) -> Iterator[None]:
        if self._closed:
            raise StageError("the stage is closed")
        if not self._motion.acquire(blocking=False):
            raise StageError("the stage is already moving; wait for the move to finish")
        try:
            yield
        finally:
            self._motion.release()

    # -- stopping ---------------------------------------------------------------------------

    def emergency_stop(self) -> None:
        """Abort any move (it raises :class:`EmergencyStop`), release the motor, forget home.

        Safe to call from any thread, at any time, any number of times.
        """
        self._estop.set()
        self._homed = False
        with suppress(GPIODeviceClosed):  # close() may be running in another thread
            if not self._closed:
                self._enable.off()
        log.warning("emergency stop: Z motor released; the stage must be homed again")

    def release(self) -> None:
        """Disable the driver so the motor turns freely (no holding current, no heat).

        The lead screw holds the carriage and the driver keeps its microstep counter, so the
        stage stays homed; the next move enables the driver again.
        """
        if not self._closed:
            self._enable.off()

    def close(self) -> None:
        """Stop any move, release the motor and free the pins; idempotent."""
        if self._closed:
            return
        if self._motion.locked():
            self._estop.set()
            # The mover checks the flag before each step, so this returns within one step.
            if self._motion.acquire(timeout=2.0):
                self._motion.release()
        self._closed = True
        self._homed = False
        for device in reversed(self._devices):
            if device is self._enable:
                device.off()
            device.close()
        self._devices.clear()
