"""Capture button: press vs hold decided on release, through gpiozero's mock pins."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from gpiozero.pins.mock import MockFactory

from dermocap.clock import FastClock
from device.button import CaptureButton
from device.config import ButtonConfig, DermocapConfig
from device.rig import twin_mechanics

HOLD_S = 0.5  # the shortest hold the config allows


class Recorder:
    def __init__(self) -> None:
        self.events: list[str] = []
        self.hold_reached = threading.Event()

    def press(self) -> None:
        self.events.append("press")

    def hold(self) -> None:
        self.events.append("hold")

    def reached(self) -> None:
        self.events.append("hold_reached")
        self.hold_reached.set()


def make_button(factory: MockFactory, rec: Recorder) -> CaptureButton:
    return CaptureButton(
        ButtonConfig(hold_s=HOLD_S),
        pin_factory=factory,
        on_press=rec.press,
        on_hold=rec.hold,
        on_hold_reached=rec.reached,
    )


def test_short_press_is_a_press(factory: MockFactory) -> None:
    rec = Recorder()
    pin = factory.pin(17)
    with make_button(factory, rec) as button:
        pin.drive_low()
        assert button.is_pressed
        assert rec.events == []  # nothing is decided on the way down
        time.sleep(0.05)
        pin.drive_high()
        assert rec.events == ["press"]
        time.sleep(HOLD_S + 0.2)  # the hold thread must not fire after the release
        assert rec.events == ["press"]


def test_hold_is_a_hold_with_a_chirp_first(factory: MockFactory) -> None:
    rec = Recorder()
    pin = factory.pin(17)
    with make_button(factory, rec):
        pin.drive_low()
        assert rec.hold_reached.wait(HOLD_S + 1.0)
        assert rec.events == ["hold_reached"]  # still pressed: the chirp, no decision
        pin.drive_high()
        assert rec.events == ["hold_reached", "hold"]


def test_press_and_hold_through_the_twin(factory: MockFactory) -> None:
    twin = twin_mechanics(DermocapConfig(), factory, FastClock())
    rec = Recorder()
    with make_button(factory, rec):
        twin.press_button()
        assert rec.events == ["press"]
        twin.press_button(hold_s=HOLD_S + 0.3)
        assert rec.events == ["press", "hold_reached", "hold"]
        twin.press_button(hold_s=0.1)
        assert rec.events[-1] == "press"


def test_failing_callback_is_logged_not_raised(
    factory: MockFactory, caplog: pytest.LogCaptureFixture
) -> None:
    def boom() -> None:
        raise ValueError("service not ready")

    pin = factory.pin(17)
    with CaptureButton(
        ButtonConfig(hold_s=HOLD_S), pin_factory=factory, on_press=boom, on_hold=boom
    ):
        with caplog.at_level(logging.ERROR, logger="device.button"):
            pin.drive_low()
            pin.drive_high()
    assert "button callback on_press failed" in caplog.text
    assert "service not ready" in caplog.text


def test_close_is_idempotent_and_frees_the_pin(factory: MockFactory) -> None:
    rec = Recorder()
    pin = factory.pin(17)
    button = make_button(factory, rec)
    button.close()
    button.close()
    with make_button(factory, rec):  # the pin is free again
        pin.drive_low()
        pin.drive_high()
    assert rec.events == ["press"]
