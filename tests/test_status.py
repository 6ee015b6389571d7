"""Status light and buzzer: every pattern reaches the RGB pins and the buzzer."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

from device.config import StatusConfig
from device.status import BEEPS, PATTERNS, StatusIndicator, patterns_markdown

CFG = StatusConfig(brightness=0.5)
RED, GREEN, BLUE, BUZZER = 22, 23, 24, 25


@pytest.fixture
def status(factory: MockFactory) -> Iterator[StatusIndicator]:
    with StatusIndicator(CFG, pin_factory=factory) as s:
        yield s


def wait_for(predicate: Callable[[], bool], timeout_s: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def levels(factory: MockFactory, pin: int) -> set[float]:
    return {round(float(s.state), 3) for s in factory.pin(pin).states}


def rising_edges(factory: MockFactory, pin: int) -> int:
    states = [bool(s.state) for s in factory.pin(pin).states]
    return sum(1 for a, b in itertools.pairwise(states) if b and not a)


def test_ready_is_steady_green(factory: MockFactory, status: StatusIndicator) -> None:
    status.show("ready")
    assert status.current == "ready"
    assert factory.pin(GREEN).state == pytest.approx(0.5)
    assert factory.pin(RED).state == 0.0 and factory.pin(BLUE).state == 0.0
    assert rising_edges(factory, BUZZER) == 0


def test_common_anode_inverts(factory: MockFactory) -> None:
    with StatusIndicator(StatusConfig(active_high=False), pin_factory=factory) as s:
        s.show("ready")
        assert factory.pin(GREEN).state == pytest.approx(1 - 0.6)
        assert factory.pin(RED).state == pytest.approx(1.0)


def test_busy_pulses_blue(factory: MockFactory, status: StatusIndicator) -> None:
    status.show("busy")
    assert wait_for(lambda: len(levels(factory, BLUE)) > 5)
    assert max(levels(factory, BLUE)) <= 0.5
    assert levels(factory, RED) == {0.0}


def test_qc_failed_blinks_amber_and_beeps_twice(
    factory: MockFactory, status: StatusIndicator
) -> None:
    for pin in (RED, GREEN, BUZZER):
        factory.pin(pin).clear_states()
    status.show("qc_failed")
    assert wait_for(lambda: rising_edges(factory, RED) >= 2)
    assert wait_for(lambda: not factory.pin(BUZZER).state and rising_edges(factory, BUZZER) == 2)
    time.sleep(0.3)
    assert rising_edges(factory, BUZZER) == 2  # exactly two beeps, then silence
    assert 0.5 in levels(factory, RED)
    assert round(0.45 * 0.5, 3) in levels(factory, GREEN)


def test_error_blinks_red_fast_with_a_long_beep(
    factory: MockFactory, status: StatusIndicator
) -> None:
    factory.pin(BUZZER).clear_states()
    status.show("error")
    assert wait_for(lambda: rising_edges(factory, RED) >= 3, timeout_s=1.0)
    assert factory.pin(BUZZER).state == 1.0  # the long beep is still sounding
    assert wait_for(lambda: not factory.pin(BUZZER).state)
    assert rising_edges(factory, BUZZER) == 1
    assert levels(factory, GREEN) == {0.0}


def test_offline_alternates_cyan_and_purple(factory: MockFactory, status: StatusIndicator) -> None:
    status.show("offline")
    assert factory.pin(GREEN).state == pytest.approx(0.5)  # cyan first
    assert factory.pin(BLUE).state == pytest.approx(0.5)
    assert wait_for(lambda: factory.pin(RED).state == pytest.approx(0.3))  # then purple
    assert factory.pin(GREEN).state == 0.0


def test_sound_off_keeps_the_buzzer_quiet(factory: MockFactory) -> None:
    with StatusIndicator(StatusConfig(sound=False), pin_factory=factory) as s:
        s.show("error")
        s.beep("long")
        time.sleep(0.1)
        assert rising_edges(factory, BUZZER) == 0


def test_beep_by_name_and_unknown_names(factory: MockFactory, status: StatusIndicator) -> None:
    status.beep("chirp")
    assert wait_for(lambda: rising_edges(factory, BUZZER) == 1)
    with pytest.raises(ValueError, match="unknown beep 'bong'; known: chirp, double"):
        status.beep("bong")
    with pytest.raises(ValueError, match="unknown status pattern 'party'; known: busy, "):
        status.show("party")
    assert status.current is None


def test_every_pattern_shows_and_close_turns_off(factory: MockFactory) -> None:
    status = StatusIndicator(CFG, pin_factory=factory)
    for name in PATTERNS:
        status.show(name)
        assert status.current == name
    status.close()
    status.close()
    for pin in (RED, GREEN, BLUE, BUZZER):
        assert factory.pin(pin).state == 0.0
    with StatusIndicator(CFG, pin_factory=factory):
        pass  # pins free again


def test_pattern_table_renders_as_markdown() -> None:
    md = patterns_markdown()
    lines = md.strip().splitlines()
    assert lines[0] == "| Pattern | Light | Sound | Meaning |"
    assert len(lines) == 2 + len(PATTERNS)
    for name, pattern in PATTERNS.items():
        assert f"| `{name}` |" in md
        assert pattern.meaning in md
    assert "| `ready` | steady green | - |" in md
    assert "2 short beeps" in md
    assert "cyan/purple blinking" in md
    assert set(BEEPS) >= {"chirp", "double", "long"}


def test_status_light_command_holds_error_until_stopped(factory: MockFactory) -> None:
    """What dermocap-failed.service runs when systemd gives up on the service."""
    from device.status_cmd import hold_pattern

    stop = threading.Event()
    t = threading.Thread(
        target=hold_pattern, args=(CFG, "error", stop), kwargs={"pin_factory": factory}
    )
    t.start()
    try:
        assert wait_for(lambda: rising_edges(factory, RED) >= 3)
        assert t.is_alive()  # held, not shown once and dropped
        assert levels(factory, GREEN) == {0.0}
        assert rising_edges(factory, BUZZER) == 1
    finally:
        stop.set()
        t.join(5)
    assert not t.is_alive()
    assert factory.pin(RED).state == 0.0  # closed: the service can claim the pins again
    with StatusIndicator(CFG, pin_factory=factory):
        pass
    with pytest.raises(ValueError, match="unknown status pattern"):
        hold_pattern(CFG, "party", stop, pin_factory=factory)


def test_led_drift_has_a_pattern_of_its_own(factory: MockFactory, status: StatusIndicator) -> None:
    status.show("led_drift")
    assert status.current == "led_drift"
    # amber and white alternate: red always lit, blue only in the white phase
    assert wait_for(lambda: rising_edges(factory, BLUE) >= 1, timeout_s=3.0)
    assert min(levels(factory, RED) - {0.0}) == pytest.approx(0.5)
    assert rising_edges(factory, BUZZER) == 1
    drift, qc = PATTERNS["led_drift"], PATTERNS["qc_failed"]
    assert (drift.colour, drift.alt_colour, drift.on_s) != (qc.colour, qc.alt_colour, qc.on_s)


def test_readme_table_is_the_pattern_table() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert patterns_markdown() in readme


def test_a_pattern_set_from_another_thread_waits_for_a_blink_being_started(
    status: StatusIndicator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The service changes the light from its capture, analysis and event threads. gpiozero's
    blink() makes its thread, then starts it; a colour set in between joins the unstarted
    thread and raises (CI saw it kill the analysis thread). Reached by construction: the
    blink's thread start is held until the second thread has tried to set a colour."""
    from gpiozero.threads import GPIOThread

    starting, release = threading.Event(), threading.Event()
    real_start = GPIOThread.start

    def held_start(self: GPIOThread) -> None:
        if not starting.is_set():
            starting.set()
            assert release.wait(10.0)
        real_start(self)

    monkeypatch.setattr(GPIOThread, "start", held_start)
    errors: list[BaseException] = []

    def run(name: str) -> None:
        try:
            status.show(name)
        except BaseException as exc:  # the failure under test, kept for the main thread
            errors.append(exc)

    blinker = threading.Thread(target=run, args=("qc_failed",))  # a blink
    blinker.start()
    assert starting.wait(10.0)  # its blink thread is made, not yet started
    setter = threading.Thread(target=run, args=("ready",))  # a steady colour
    setter.start()
    setter.join(0.3)  # with the lock it waits for the blink; without, it has raised by now
    still_waiting = setter.is_alive()
    release.set()
    blinker.join(10.0)
    setter.join(10.0)
    assert errors == []
    assert still_waiting
    assert status.current == "ready"  # the later call wins, as the service expects


def test_showing_the_pattern_shown_already_neither_restarts_it_nor_beeps(
    status: StatusIndicator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The service re-shows its pattern on every turn of its loop (0.5 s): a blink started
    again each time never shows its second colour, and its beeps would repeat."""
    calls: list[str] = []
    led_blink, buzz_blink = status._led.blink, status._buzzer.blink
    monkeypatch.setattr(status._led, "blink", lambda **kw: (calls.append("led"), led_blink(**kw)))
    monkeypatch.setattr(
        status._buzzer, "blink", lambda **kw: (calls.append("beep"), buzz_blink(**kw))
    )
    for _ in range(3):
        status.show("clip_site")
    assert calls == ["led", "beep"]
    status.show("ready")
    status.show("clip_site")  # shown anew after another pattern: blinks and beeps again
    assert calls == ["led", "beep", "led", "beep"]
