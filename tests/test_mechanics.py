"""The twin's pin physics: TwinPin, motor and backlash, end stop, home switch, button, LEDs."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from gpiozero import PWMLED, Button, DigitalOutputDevice
from gpiozero.pins.mock import MockFactory, MockPin, MockPWMPin

from dermocap.clock import FastClock
from dermocap.errors import SimError
from sim.mechanics import TwinMechanics, TwinPin

STEPS_PER_MM = 400.0
PINS = {
    "step_pin": 20,
    "dir_pin": 21,
    "enable_pin": 16,
    "limit_pin": 26,
    "button_pin": 17,
    "cross_pin": 12,
    "parallel_pin": 13,
}


def make_twin(
    factory: MockFactory, *, backlash_mm: float = 0.05, start_z_mm: float = 4.0
) -> TwinMechanics:
    return TwinMechanics(
        factory,
        **PINS,
        dir_up_level=1,
        steps_per_mm=STEPS_PER_MM,
        backlash_mm=backlash_mm,
        start_z_mm=start_z_mm,
        clock=FastClock(),
    )


class Driver:
    """The three driver lines as gpiozero outputs, for driving the twin's motor by hand."""

    def __init__(self, factory: MockFactory) -> None:
        self.enable = DigitalOutputDevice(16, active_high=False, pin_factory=factory)
        self.dir = DigitalOutputDevice(21, pin_factory=factory)
        self.step = DigitalOutputDevice(20, pin_factory=factory)

    def steps(self, n: int, *, up: bool) -> None:
        self.dir.value = up
        for _ in range(n):
            self.step.on()
            self.step.off()

    def close(self) -> None:
        for d in (self.step, self.dir, self.enable):
            d.close()


Rig = Callable[..., tuple[TwinMechanics, Driver]]


@pytest.fixture
def rig(factory: MockFactory) -> Iterator[Rig]:
    """Builds the twin, then (on the same pins) the driver lines, enabled."""
    made: list[Driver] = []

    def build(**kwargs: float) -> tuple[TwinMechanics, Driver]:
        twin = make_twin(factory, **kwargs)
        driver = Driver(factory)
        driver.enable.on()
        made.append(driver)
        return twin, driver

    yield build
    for d in made:
        d.close()


def test_twin_pin_notifies_observers_and_caps_history(factory: MockFactory) -> None:
    pin = factory.pin(5, pin_class=TwinPin)
    seen: list[tuple[float, float]] = []
    pin.add_observer(lambda p, old, new: seen.append((old, new)))
    pin.max_states = 100
    with DigitalOutputDevice(5, pin_factory=factory) as out:
        for _ in range(500):
            out.on()
            out.off()
    assert seen[:2] == [(0.0, 1.0), (1.0, 0.0)]
    assert len(seen) >= 1000
    assert 100 <= len(pin.states) <= 125


def test_external_level_beats_the_pull_up(factory: MockFactory) -> None:
    pin = factory.pin(6, pin_class=TwinPin)
    pin.set_external_level(False)  # a closed switch, before the device is even built
    with Button(6, pull_up=True, pin_factory=factory) as button:
        assert button.is_pressed
        pin.set_external_level(None)
        assert not button.is_pressed


def test_steps_move_the_carriage_with_a_backlash_dead_band(rig: Rig) -> None:
    twin, driver = rig(backlash_mm=0.05)
    backlash_steps = 20
    start = twin.carriage_z_mm
    # Power-on: the carriage rests on the lower flank; going up first takes up the backlash.
    driver.steps(backlash_steps, up=True)
    assert twin.carriage_z_mm == pytest.approx(start)
    assert twin.motor_z_mm == pytest.approx(start + 0.05)
    driver.steps(400, up=True)
    assert twin.carriage_z_mm == pytest.approx(start + 1.0)
    # Reversal: the motor turns backlash_mm before the carriage follows down.
    driver.steps(backlash_steps, up=False)
    assert twin.carriage_z_mm == pytest.approx(start + 1.0)
    driver.steps(400, up=False)
    assert twin.carriage_z_mm == pytest.approx(start)
    assert twin.steps_made == 2 * (400 + backlash_steps)


def test_disabled_driver_ignores_steps(rig: Rig) -> None:
    twin, driver = rig()
    driver.enable.off()  # enable pin high: driver off
    driver.steps(100, up=False)
    assert twin.steps_made == 0
    assert twin.carriage_z_mm == pytest.approx(4.0)


def test_end_stop_stalls_the_motor_and_closes_the_switch(rig: Rig, factory: MockFactory) -> None:
    twin, driver = rig(start_z_mm=0.1)
    with Button(26, pull_up=True, pin_factory=factory) as limit:
        assert not limit.is_pressed
        driver.steps(30, up=False)  # 0.1 -> 0.025 mm: still above the switch travel
        assert not limit.is_pressed
        driver.steps(2, up=False)  # 0.02 mm: the switch closes
        assert limit.is_pressed
        assert twin.switch_closed
        driver.steps(100, up=False)
        assert twin.carriage_z_mm == 0.0
        assert twin.stalled_steps == 100 - 8
        driver.steps(20 + 10, up=True)  # backlash, then 0.025 mm up: the switch opens
        assert not limit.is_pressed
        assert twin.carriage_z_mm == pytest.approx(0.025)


def test_switch_closed_at_power_on_survives_the_pull_up(factory: MockFactory) -> None:
    make_twin(factory, start_z_mm=0.0)
    with Button(26, pull_up=True, pin_factory=factory) as limit:
        assert limit.is_pressed


def test_led_duty_and_frequency_read_from_the_pwm_pins(factory: MockFactory) -> None:
    twin = make_twin(factory)
    assert twin.led_duty() == {"cross": 0.0, "parallel": 0.0}
    with PWMLED(12, frequency=2000, pin_factory=factory) as cross:
        cross.value = 0.25
        assert twin.led_duty() == {"cross": 0.25, "parallel": 0.0}
        assert twin.led_frequency_hz() == {"cross": 2000.0, "parallel": None}
    assert twin.led_duty()["cross"] == 0.0


def test_press_button_drives_low_then_high(factory: MockFactory) -> None:
    twin = make_twin(factory)
    pressed: list[bool] = []
    with Button(17, pull_up=True, pin_factory=factory) as button:
        button.when_pressed = lambda: pressed.append(True)
        twin.pin("button").clear_states()
        twin.press_button(hold_s=0.05)
        assert pressed == [True]
        assert not button.is_pressed
        twin.pin("button").assert_states([True, False, True])


def test_twin_needs_a_pwm_factory_and_its_own_pins() -> None:
    with pytest.raises(SimError, match="MockPWMPin"):
        make_twin(MockFactory(pin_class=MockPin))
    f = MockFactory(pin_class=MockPWMPin)
    f.pin(20)  # a device got there first
    with pytest.raises(SimError, match="before the devices"):
        make_twin(f)


def test_close_detaches_the_motor(rig: Rig) -> None:
    twin, driver = rig()
    twin.close()
    twin.close()
    driver.steps(10, up=True)
    assert twin.steps_made == 0
