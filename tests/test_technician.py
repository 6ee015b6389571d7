"""The technician port: one contract suite over the twin's hand, the button and the terminal.

The person is played by construction, never by timing: the button technician's clock
presses the mock button pin when the wait polls (after the prompt is shown), the terminal
technician reads prepared lines, and the twin's hand needs nobody.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from gpiozero.pins.mock import MockFactory

from capture.relocation import Guidance
from capture.technician import Technician
from dermocap.errors import TechnicianTimeout
from device.button import CaptureButton
from device.cli import main as cli_main
from device.config import ButtonConfig, DermocapConfig, StatusConfig
from device.rig import build_rig
from device.status import StatusIndicator
from device.technician import ButtonTechnician, TerminalTechnician
from sim.hand import HAND_SOCKET, TwinHand, TwinTechnician
from sim.render import CalibrationTarget

GUIDANCE = Guidance(
    dx_mm=0.4,
    dy_mm=-0.2,
    drot_deg=2.0,
    overlap=0.6,
    peak=0.3,
    converged=False,
    same_site=True,
    text="move the cone 0.4 mm right, 0.2 mm back",
)


class StepClock:
    """A clock that only moves when slept on; ``on_sleep`` runs at each sleep (the person)."""

    def __init__(self) -> None:
        self.now_s = 1000.0
        self.slept_s = 0.0
        self.on_sleep: Callable[[], None] | None = None

    def monotonic(self) -> float:
        return self.now_s

    def sleep(self, seconds: float) -> None:
        self.now_s += seconds
        self.slept_s += seconds
        if self.on_sleep is not None:
            self.on_sleep()


@dataclass
class Person:
    """Answers the next ``answers`` asks (None: every ask), then stays away."""

    answer: Callable[[], None]
    answers: int | None = None
    given: int = 0
    seen_patterns: list[str | None] = field(default_factory=list)


@dataclass
class Setup:
    technician: Technician
    absent: Callable[[], None]  # from now on nobody answers
    can_be_absent: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


def _button(factory: MockFactory) -> Iterator[Setup]:
    clock = StepClock()
    status = StatusIndicator(StatusConfig(sound=False), pin_factory=factory)
    status.show("ready")
    told: list[Guidance] = []
    captures: list[str] = []
    tech = ButtonTechnician(
        status, clock=clock, place_wait_s=30.0, follow_wait_s=4.0, tell=told.append
    )
    button = CaptureButton(
        ButtonConfig(bounce_s=0.0),
        pin_factory=factory,
        on_press=tech.routed(lambda: captures.append("capture")),
        on_hold=lambda: None,
    )
    pin = factory.pin(ButtonConfig().pin)
    patterns: list[str | None] = []

    def press() -> None:
        patterns.append(status.current)
        pin.drive_low()
        pin.drive_high()

    clock.on_sleep = press

    def absent() -> None:
        clock.on_sleep = lambda: patterns.append(status.current)

    yield Setup(
        tech,
        absent,
        extra={
            "clock": clock,
            "status": status,
            "told": told,
            "captures": captures,
            "patterns": patterns,
            "press": press,
        },
    )
    button.close()
    status.close()


def _terminal() -> Iterator[Setup]:
    inp = io.StringIO("\n" * 3)
    out = io.StringIO()

    def absent() -> None:
        inp.seek(0, io.SEEK_END)  # the end of the input: nobody will answer

    yield Setup(TerminalTechnician(inp, out), absent, extra={"out": out})


def _twin() -> Iterator[Setup]:
    rig = build_rig(DermocapConfig.model_validate({"camera": {"width": 1014, "height": 760}}))
    hand = TwinTechnician.of(rig.technician)
    yield Setup(hand, lambda: None, can_be_absent=False, extra={"hand": hand})
    rig.close()


@pytest.fixture(params=["twin", "button", "terminal"])
def setup(request: pytest.FixtureRequest, factory: MockFactory) -> Iterator[Setup]:
    makers: dict[str, Callable[[], Iterator[Setup]]] = {
        "twin": _twin,
        "button": lambda: _button(factory),
        "terminal": _terminal,
    }
    yield from makers[request.param]()


# -- the contract ---------------------------------------------------------------------------
def test_places_return_once_the_person_confirmed(setup: Setup) -> None:
    setup.technician.place_target()
    setup.technician.place_subject()


def test_a_place_nobody_confirms_raises_technician_timeout(setup: Setup) -> None:
    if not setup.can_be_absent:
        pytest.skip("the twin's hand always answers at once")
    setup.absent()
    with pytest.raises(TechnicianTimeout) as err:
        setup.technician.place_target()
    assert isinstance(err.value, TimeoutError)
    with pytest.raises(TechnicianTimeout):
        setup.technician.place_subject()


def test_follow_never_raises_for_an_absent_person(setup: Setup) -> None:
    setup.technician.follow(GUIDANCE)
    setup.absent()
    setup.technician.follow(GUIDANCE)


def test_reseat_reports_floats_and_close_is_idempotent(setup: Setup) -> None:
    change = setup.technician.reseat(0, np.random.default_rng(1))
    assert all(isinstance(v, float) for v in change.values())
    assert all(isinstance(k, str) for k in setup.technician.known_truth())
    setup.technician.close()
    setup.technician.close()


# -- each implementation's own side ---------------------------------------------------------
def test_twin_hand_changes_the_scene_at_once() -> None:
    for s in _twin():
        hand = s.extra["hand"]
        hand.place_target()
        assert isinstance(hand.twin.scene, CalibrationTarget)
        hand.place_subject()
        assert not isinstance(hand.twin.scene, CalibrationTarget)
        hand.place(0.0, 0.0, 0.0)
        hand.follow(GUIDANCE)
        assert hand.twin.pose[:2] == pytest.approx((0.4, -0.2))
        assert "twin_true_um_per_px" in hand.known_truth()


def test_twin_hand_socket_puts_the_target_under_the_cone_and_back() -> None:
    """What a scripted technician sends a running twin (`dermocap serve --sim`) for the
    daily light check; handled as the socket's thread does, without the socket."""
    for s in _twin():
        socket_hand = TwinHand(Path("unused.sock"), s.extra["hand"])
        assert socket_hand.handle(b'{"do": "target"}') == {"ok": True, "under_cone": "target"}
        assert isinstance(s.extra["hand"].twin.scene, CalibrationTarget)
        assert socket_hand.handle(b'{"do": "subject"}')["under_cone"] == "subject"
        assert not isinstance(s.extra["hand"].twin.scene, CalibrationTarget)


def test_button_technician_prompts_on_the_light_and_takes_the_press(
    factory: MockFactory,
) -> None:
    for s in _button(factory):
        tech, clock, status = s.technician, s.extra["clock"], s.extra["status"]
        tech.place_target()
        # The light asked while waiting, the press answered, the light went back.
        assert s.extra["patterns"] == ["place_target"]
        assert status.current == "ready"
        assert s.extra["captures"] == []  # the answering press started no capture
        assert clock.slept_s == pytest.approx(tech.poll_s)
        # Outside a wait the same press is a capture.
        s.extra["press"]()
        assert s.extra["captures"] == ["capture"]


def test_button_technician_waits_on_its_clock_and_publishes_guidance(
    factory: MockFactory,
) -> None:
    for s in _button(factory):
        tech, clock = s.technician, s.extra["clock"]
        s.absent()
        tech.follow(GUIDANCE)
        assert s.extra["told"] == [GUIDANCE]
        assert set(s.extra["patterns"]) == {"relocate"}
        # The whole wait passed on the injected clock: no real time was spent.
        assert clock.slept_s == pytest.approx(4.0)
        before = clock.slept_s
        with pytest.raises(TechnicianTimeout, match="reference target"):
            tech.place_target()
        assert clock.slept_s - before == pytest.approx(30.0)
        assert s.extra["status"].current == "ready"
        assert s.extra["captures"] == []


def test_terminal_technician_prompts_on_its_stream() -> None:
    for s in _terminal():
        s.technician.place_target()
        s.technician.follow(GUIDANCE)
        out = s.extra["out"].getvalue()
        assert "reference target" in out and GUIDANCE.text in out
        assert out.count("press Enter when done") == 2


def test_sim_hand_command_plays_the_technician_through_the_socket(
    tmp_path: Path, factory: MockFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    """`dermocap sim hand` as a newcomer exploring `dermocap serve --sim` uses it: the light
    says what it asks, the target goes under the cone, a hold is pressed; bad input says why."""
    status = StatusIndicator(StatusConfig(), pin_factory=factory)
    status.show("light_check")
    for s in _twin():
        twin_hand: TwinTechnician = s.extra["hand"]
        with TwinHand(tmp_path / HAND_SOCKET, twin_hand, light=status.describe):

            def run(*args: str) -> tuple[int, dict[str, Any]]:
                rc = cli_main(["sim", "hand", *args, "--state-dir", str(tmp_path)])
                out = capsys.readouterr().out
                return rc, json.loads(out) if out else {}

            rc, reply = run("light")
            assert rc == 0 and reply["pattern"] == "light_check"
            assert "white/cyan blinking" in reply["light"]
            assert "put the reference target under the cone" in reply["meaning"]
            assert run("target") == (0, {"ok": True, "under_cone": "target"})
            assert isinstance(twin_hand.twin.scene, CalibrationTarget)
            assert run("hold", "s=0.01") == (0, {"ok": True, "pressed_s": 0.01})
            rc, reply = run("scalp", "hair_length=curly")  # a word the twin refuses
            assert rc == 1 and "bad scalp change" in reply["error"]
            assert cli_main(["sim", "hand", "hold", "s", "--state-dir", str(tmp_path)]) == 2
            assert "not KEY=VALUE" in capsys.readouterr().err
    status.close()
    # no service on that state folder: says what to check
    assert cli_main(["sim", "hand", "light", "--state-dir", str(tmp_path)]) == 1
    assert "is `dermocap serve` running on the twin?" in capsys.readouterr().err
