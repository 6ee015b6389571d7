"""Z stage on the twin's pin physics: homing, backlash, soft limits, emergency stop."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory

from dermocap.clock import FastClock
from dermocap.errors import EmergencyStop, SimError, StageError
from device.config import DermocapConfig, StageConfig
from device.rig import twin_mechanics
from device.stage import ZStage, step_intervals_s
from sim.mechanics import TwinMechanics

TWIN_BACKLASH_MM = 0.05


class SwitchableClock(FastClock):
    """A FastClock that can be told to sleep for real, so a move takes its true time."""

    def __init__(self) -> None:
        super().__init__()
        self.real = False

    def sleep(self, seconds: float) -> None:
        if self.real:
            time.sleep(seconds)
        else:
            super().sleep(seconds)


@pytest.fixture
def clock() -> SwitchableClock:
    return SwitchableClock()


def make_twin(
    factory: MockFactory, cfg: StageConfig, clock: FastClock, start_z_mm: float = 4.0
) -> TwinMechanics:
    sim = {"mechanics": {"backlash_mm": TWIN_BACKLASH_MM, "start_z_mm": start_z_mm}}
    whole = DermocapConfig.model_validate({"stage": cfg.model_dump(), "sim": sim})
    return twin_mechanics(whole, factory, clock)


@pytest.fixture
def rig(factory: MockFactory, clock: SwitchableClock) -> Iterator[tuple[ZStage, TwinMechanics]]:
    cfg = StageConfig()
    twin = make_twin(factory, cfg, clock)
    with ZStage(cfg, pin_factory=factory, clock=clock) as stage:
        yield stage, twin
    twin.close()


def carriage_error_mm(stage: ZStage, twin: TwinMechanics) -> float:
    """How far the carriage is from where the stage believes it is (home offset removed)."""
    return twin.carriage_z_mm - twin.switch_travel_mm - stage.z_mm


def test_step_intervals_are_a_trapezoid() -> None:
    kw: dict[str, Any] = {"steps_per_mm": 400.0, "speed_mm_s": 4.0, "accel_mm_s2": 20.0}
    intervals = list(step_intervals_s(2000, **kw))
    assert len(intervals) == 2000
    cruise_s = 1 / (400 * 4.0)
    assert min(intervals) == pytest.approx(cruise_s)
    assert intervals[0] > 5 * cruise_s  # starts slow
    assert intervals[-1] == pytest.approx(intervals[0])  # symmetric ramp down
    assert intervals[1000] == pytest.approx(cruise_s)
    # 5 mm at 4 mm/s plus the ramps (v / a = 0.2 s each, half of it lost): about 1.45 s
    assert sum(intervals) == pytest.approx(5 / 4.0 + 4.0 / 20.0, rel=0.02)
    short = list(step_intervals_s(20, **kw))  # too short to cruise: a triangle
    assert min(short) > cruise_s


def test_home_finds_the_switch_and_goes_to_min(rig: tuple[ZStage, TwinMechanics]) -> None:
    stage, twin = rig
    assert not stage.is_homed
    stage.home()
    assert stage.is_homed
    assert stage.z_mm == pytest.approx(stage._cfg.min_mm)
    assert not stage.switch_closed
    assert twin.pin("enable").state == 0  # driver on, motor holding
    assert abs(carriage_error_mm(stage, twin)) <= 1 / 400 + 1e-9


def test_home_from_the_switch(factory: MockFactory, clock: SwitchableClock) -> None:
    cfg = StageConfig()
    twin = make_twin(factory, cfg, clock, start_z_mm=0.0)
    with ZStage(cfg, pin_factory=factory, clock=clock) as stage:
        assert stage.switch_closed
        stage.home()
        assert stage.is_homed
        assert twin.stalled_steps == 0
        assert abs(carriage_error_mm(stage, twin)) <= 1 / 400 + 1e-9


@pytest.mark.parametrize("target_mm", [0.5, 3.0, 6.3, 11.99])
def test_backlash_compensated_from_above_and_below(
    rig: tuple[ZStage, TwinMechanics], target_mm: float
) -> None:
    stage, twin = rig
    stage.home()
    one_step_mm = 1 / 400
    for start_mm in (12.0, 0.5, 12.0, target_mm + 0.01, target_mm - 0.01 if target_mm > 0.5 else 5):
        stage.move_to(start_mm)
        stage.move_to(target_mm)
        assert stage.z_mm == pytest.approx(target_mm, abs=one_step_mm / 2)
        assert abs(carriage_error_mm(stage, twin)) <= one_step_mm + 1e-9, start_mm


def test_without_compensation_an_approach_from_above_is_off_by_the_backlash(
    factory: MockFactory, clock: SwitchableClock
) -> None:
    cfg = StageConfig(backlash_mm=0.0)
    twin = make_twin(factory, cfg, clock)
    with ZStage(cfg, pin_factory=factory, clock=clock) as stage:
        stage.home()
        stage.move_to(3.0)
        from_below = twin.carriage_z_mm
        stage.move_to(8.0)
        stage.move_to(3.0)
        from_above = twin.carriage_z_mm
    assert from_above - from_below == pytest.approx(TWIN_BACKLASH_MM, abs=1 / 400)


def test_move_by_and_dir_level(factory: MockFactory, clock: SwitchableClock) -> None:
    cfg = StageConfig(dir_up_level=0)
    twin = make_twin(factory, cfg, clock, start_z_mm=2.0)
    with ZStage(cfg, pin_factory=factory, clock=clock) as stage:
        stage.home()
        stage.move_by(2.5)
        assert stage.z_mm == pytest.approx(3.0)
        assert twin.pin("dir").state == 0  # last approach upwards, dir_up_level = 0
        stage.move_by(-1.0)
        assert stage.z_mm == pytest.approx(2.0)
        assert abs(carriage_error_mm(stage, twin)) <= 1 / 400 + 1e-9


def test_refuses_to_move_before_homing(rig: tuple[ZStage, TwinMechanics]) -> None:
    stage, twin = rig
    with pytest.raises(StageError, match="home the stage first"):
        stage.move_to(5.0)
    assert twin.steps_made == 0


@pytest.mark.parametrize("z_mm", [0.49, 12.01, -1.0, float("nan")])
def test_soft_limits(rig: tuple[ZStage, TwinMechanics], z_mm: float) -> None:
    stage, twin = rig
    stage.home()
    steps = twin.steps_made
    with pytest.raises(StageError, match=r"outside the soft limits \[0.5, 12\] mm"):
        stage.move_to(z_mm)
    assert twin.steps_made == steps
    assert stage.is_homed


def test_homing_fails_cleanly_when_the_switch_never_closes(
    factory: MockFactory, clock: SwitchableClock
) -> None:
    cfg = StageConfig(max_travel_mm=5.0)
    # No twin: nothing ever pulls the limit pin low, as with a broken wire.
    with ZStage(cfg, pin_factory=factory, clock=clock) as stage:
        step_pin = factory.pin(cfg.step_pin)
        step_pin.clear_states()
        with pytest.raises(StageError, match="check the limit switch wiring"):
            stage.home()
        assert not stage.is_homed
        assert factory.pin(cfg.enable_pin).state == 1  # motor released, not stalling
        rising = sum(1 for s in step_pin.states[1:] if s.state)
        assert rising == 5 * 400  # gave up after max_travel_mm
        with pytest.raises(StageError, match="home the stage first"):
            stage.move_to(3.0)


def test_homing_fails_when_the_switch_is_stuck_closed(
    factory: MockFactory, clock: SwitchableClock
) -> None:
    cfg = StageConfig()
    with ZStage(cfg, pin_factory=factory, clock=clock) as stage:
        factory.pin(cfg.limit_pin).drive_low()
        with pytest.raises(StageError, match="stuck switch"):
            stage.home()
        assert not stage.is_homed


def test_emergency_stop_from_another_thread(factory: MockFactory, clock: SwitchableClock) -> None:
    cfg = StageConfig(speed_mm_s=2.0)
    twin = make_twin(factory, cfg, clock)
    with ZStage(cfg, pin_factory=factory, clock=clock) as stage:
        stage.home()
        clock.real = True  # the long move takes its real ~6 s
        errors: list[BaseException] = []

        def move() -> None:
            try:
                stage.move_to(12.0)
            except BaseException as exc:
                errors.append(exc)

        mover = threading.Thread(target=move)
        mover.start()
        deadline = time.monotonic() + 2.0
        while twin.carriage_z_mm < 1.0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert stage.is_moving
        with pytest.raises(StageError, match="already moving"):
            stage.move_to(3.0)
        stopped_at = time.monotonic()
        stage.emergency_stop()
        mover.join(timeout=2.0)
        assert not mover.is_alive()
        assert time.monotonic() - stopped_at < 0.5
        assert len(errors) == 1 and isinstance(errors[0], EmergencyStop)
        assert "home the stage" in str(errors[0])
        z_after_mm = twin.carriage_z_mm
        assert 1.0 <= z_after_mm < 11.0
        assert factory.pin(cfg.enable_pin).state == 1  # driver disabled
        assert not stage.is_homed and not stage.is_moving
        time.sleep(0.05)
        assert twin.carriage_z_mm == z_after_mm
        with pytest.raises(StageError, match="home the stage first"):
            stage.move_to(3.0)
        clock.real = False
        stage.home()  # homing clears the stop
        stage.move_to(3.0)
        assert abs(carriage_error_mm(stage, twin)) <= 1 / 400 + 1e-9


def test_release_keeps_home_and_close_is_idempotent(
    rig: tuple[ZStage, TwinMechanics], factory: MockFactory
) -> None:
    stage, twin = rig
    stage.home()
    stage.release()
    assert twin.pin("enable").state == 1
    assert stage.is_homed
    stage.move_to(4.0)  # enables the driver again
    assert twin.pin("enable").state == 0
    stage.close()
    stage.close()
    assert twin.pin("enable").function == "input"
    with pytest.raises(StageError, match="closed"):
        stage.home()
    # the pins are free again
    with ZStage(StageConfig(), pin_factory=factory, clock=FastClock()):
        pass


def test_a_worn_screw_needs_the_measured_overshoot(
    rig: tuple[ZStage, TwinMechanics],
) -> None:
    """The twin's play is adjustable (wear); the stage overshoots by what it is told."""
    stage, twin = rig
    stage.home()
    twin.backlash_mm = 0.3  # worn

    def above_minus_below() -> float:
        stage.move_to(1.0)
        stage.move_to(3.0)
        from_below = twin.carriage_z_mm
        stage.move_to(8.0)
        stage.move_to(3.0)
        return twin.carriage_z_mm - from_below

    # the configured 0.05 mm overshoot leaves the carriage in the play, 0.25 mm high
    assert above_minus_below() == pytest.approx(0.25, abs=1 / 400)
    stage.set_backlash_mm(0.32)
    assert stage.backlash_mm == 0.32
    assert above_minus_below() == pytest.approx(0.0, abs=1 / 400)
    # straight down (for measuring the play): the carriage ends on the screw's other flank
    below = twin.carriage_z_mm
    stage.move_to(2.0)
    stage.move_to(3.0, upward=True)
    stage.move_to(8.0)
    stage.move_to(3.0, upward=False)
    assert twin.carriage_z_mm - below == pytest.approx(0.3, abs=1 / 400)
    for bad in (-0.01, float("nan"), stage._cfg.min_mm + 0.1):
        with pytest.raises(StageError, match="worn"):
            stage.set_backlash_mm(bad)
    assert stage.backlash_mm == 0.32
    with pytest.raises(SimError, match=">= 0"):
        twin.backlash_mm = -1.0
