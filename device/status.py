"""Status light (RGB LED) and buzzer: named patterns a technician can read at a glance."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

from gpiozero import RGBLED, Buzzer

from dermocap.resource import Closeable
from device.config import StatusConfig

log = logging.getLogger(__name__)

RGB = tuple[float, float, float]


@dataclass(frozen=True)
class Colour:
    """A named colour of the status LED, each channel 0..1 before the brightness scale."""

    name: str
    rgb: RGB


OFF = Colour("off", (0.0, 0.0, 0.0))
GREEN = Colour("green", (0.0, 1.0, 0.0))
BLUE = Colour("blue", (0.0, 0.0, 1.0))
AMBER = Colour("amber", (1.0, 0.45, 0.0))
RED = Colour("red", (1.0, 0.0, 0.0))
CYAN = Colour("cyan", (0.0, 1.0, 1.0))
PURPLE = Colour("purple", (0.6, 0.0, 1.0))
WHITE = Colour("white", (1.0, 1.0, 1.0))


@dataclass(frozen=True)
class Beep:
    """``count`` beeps of ``on_s`` seconds, ``off_s`` apart."""

    on_s: float
    off_s: float = 0.1
    count: int = 1

    def describe(self) -> str:
        """E.g. '2 short beeps' or '1 long beep (0.8 s)'."""
        length = "short" if self.on_s < 0.2 else f"long ({self.on_s:g} s)"
        if self.on_s < 0.05:
            length = "chirp"
        return f"{self.count} {length} beep{'s' if self.count > 1 else ''}"


BEEPS: Mapping[str, Beep] = MappingProxyType(
    {
        "chirp": Beep(on_s=0.03),
        "short": Beep(on_s=0.08),
        "double": Beep(on_s=0.08, off_s=0.12, count=2),
        "triple": Beep(on_s=0.08, off_s=0.12, count=3),
        "long": Beep(on_s=0.8),
    }
)


@dataclass(frozen=True)
class Pattern:
    """One status pattern: how the LED looks, what the buzzer says and what it means.

    ``style`` 'steady' shows ``colour``; 'blink' alternates ``colour`` for ``on_s`` and
    ``alt_colour`` for ``off_s``; 'pulse' fades between them over ``on_s`` and ``off_s``.
    """

    name: str
    colour: Colour
    style: Literal["steady", "blink", "pulse"]
    meaning: str
    on_s: float = 0.0
    off_s: float = 0.0
    alt_colour: Colour = OFF
    beep: Beep | None = None

    def describe_light(self) -> str:
        """E.g. 'amber blinking (0.3 s on / 0.3 s off)'."""
        if self.style == "steady":
            return f"steady {self.colour.name}"
        alt = "" if self.alt_colour == OFF else f"/{self.alt_colour.name}"
        verb = "blinking" if self.style == "blink" else "pulsing"
        return f"{self.colour.name}{alt} {verb} ({self.on_s:g} s on / {self.off_s:g} s off)"


PATTERNS: Mapping[str, Pattern] = MappingProxyType(
    {
        p.name: p
        for p in (
            Pattern("ready", GREEN, "steady", "Ready: press the button to capture"),
            Pattern(
                "busy", BLUE, "pulse", "Working (focus, capture, analysis): hold still",
                on_s=0.6, off_s=0.6,
            ),
            Pattern(
                "calibrating", WHITE, "pulse", "Calibrating on the reference target: wait",
                on_s=1.0, off_s=1.0, alt_colour=BLUE,
            ),
            Pattern(
                "hold_reached", WHITE, "steady", "Hold registered: release to cancel / retake",
                beep=BEEPS["chirp"],
            ),
            Pattern(
                "qc_failed", AMBER, "blink", "Image not good enough: retake this site",
                on_s=0.3, off_s=0.3, beep=BEEPS["double"],
            ),
            Pattern(
                "clip_site", AMBER, "blink",
                "Long hair hides the openings: clip the site to about 1 mm, then hold to "
                "capture it again (a press goes on to the next site)",
                on_s=0.6, off_s=0.6, alt_colour=PURPLE, beep=BEEPS["triple"],
            ),
            Pattern(
                "light_check", WHITE, "blink",
                "Daily light check: put the reference target under the cone and press (hold: "
                "not now)",
                on_s=0.5, off_s=0.5, alt_colour=CYAN, beep=BEEPS["short"],
            ),
            Pattern(
                "led_drift", AMBER, "blink",
                "Light output drifted since calibration (compensated): recalibrate soon",
                on_s=1.0, off_s=1.0, alt_colour=WHITE, beep=BEEPS["short"],
            ),
            Pattern(
                "error", RED, "blink", "Fault: stop and call support (see the log)",
                on_s=0.1, off_s=0.1, beep=BEEPS["long"],
            ),
            Pattern(
                "place_target", WHITE, "blink",
                "Put the reference target under the cone, then press the button",
                on_s=0.5, off_s=0.5, beep=BEEPS["short"],
            ),
            Pattern(
                "place_subject", GREEN, "blink",
                "Put the cone on the marked site, then press the button",
                on_s=0.5, off_s=0.5, beep=BEEPS["short"],
            ),
            Pattern(
                "relocate", PURPLE, "blink",
                "Move the cone as the dashboard shows, then press the button",
                on_s=0.3, off_s=0.3,
            ),
            Pattern(
                "offline", CYAN, "blink", "No connection: results are queued, not lost",
                on_s=1.0, off_s=1.0, alt_colour=PURPLE,
            ),
        )
    }
)  # fmt: skip


def patterns_markdown() -> str:
    """The pattern table as Markdown, for the README and the technicians' sheet."""
    lines = [
        "| Pattern | Light | Sound | Meaning |",
        "|---|---|---|---|",
    ]
    for p in PATTERNS.values():
        sound = p.beep.describe() if p.beep else "-"
        lines.append(f"| `{p.name}` | {p.describe_light()} | {sound} | {p.meaning} |")
    return "\n".join(lines) + "\n"


class StatusIndicator(Closeable):
    """Shows one named pattern at a time on the RGB LED and plays its beeps.

    Safe to call from several threads (the service's capture, analysis and event threads
    all change the light): gpiozero's devices are not. Its ``blink()`` makes a thread and then
    starts it, and a ``color`` set from another thread in between joins the thread that has
    not started yet and raises, killing the caller. One lock serialises every change.
    """

    def __init__(self, cfg: StatusConfig, *, pin_factory: Any) -> None:
        self._cfg = cfg
        self._current: str | None = None
        self._closed = False
        self._lock = threading.Lock()
        self._buzzer: Any = None
        self._led: Any = RGBLED(
            cfg.red_pin,
            cfg.green_pin,
            cfg.blue_pin,
            active_high=cfg.active_high,
            pwm=True,
            pin_factory=pin_factory,
        )
        try:
            self._buzzer = Buzzer(cfg.buzzer_pin, pin_factory=pin_factory)
        except Exception:
            self._led.close()
            raise

    @property
    def current(self) -> str | None:
        """Name of the pattern shown, or ``None`` before the first :meth:`show`."""
        return self._current

    def describe(self) -> dict[str, str | None]:
        """What a technician sees: the pattern's name, how the light looks, what it means."""
        name = self._current
        pattern = PATTERNS.get(name) if name is not None else None
        if pattern is None:
            return {"pattern": name, "light": "off", "meaning": "the service is not running"}
        return {"pattern": name, "light": pattern.describe_light(), "meaning": pattern.meaning}

    def _rgb(self, colour: Colour) -> RGB:
        b = self._cfg.brightness
        r, g, bl = colour.rgb
        return (r * b, g * b, bl * b)

    def show(self, name: str) -> None:
        """Show pattern ``name`` (see :data:`PATTERNS`) and play its beeps; nothing when it is
        the pattern shown already.

        Raises:
            ValueError: ``name`` is not a known pattern.
        """
        pattern = PATTERNS.get(name)
        if pattern is None:
            raise ValueError(
                f"unknown status pattern {name!r}; known: {', '.join(sorted(PATTERNS))}"
            )
        on, alt = self._rgb(pattern.colour), self._rgb(pattern.alt_colour)
        with self._lock:
            if self._closed or name == self._current:
                # Already shown: the service re-shows its pattern on every turn of its loop
                # (online may have changed). Starting a blink again would cut it short every
                # turn (a 1 s blink on a 0.5 s loop never shows its second colour) and replay
                # its beeps: a qc_failed rig beeping twice every half second.
                return
            if pattern.style == "steady":
                self._led.color = on
            elif pattern.style == "blink":
                self._led.blink(
                    on_time=pattern.on_s, off_time=pattern.off_s, on_color=on, off_color=alt
                )
            else:
                self._led.pulse(
                    fade_in_time=pattern.on_s,
                    fade_out_time=pattern.off_s,
                    on_color=on,
                    off_color=alt,
                )
            self._current = name
        log.debug("status %s", name)
        if pattern.beep is not None:
            self.beep(pattern.beep)

    def beep(self, pattern: Beep | str) -> None:
        """Play a :class:`Beep`, or one of :data:`BEEPS` by name, in the background.

        Silent when ``sound`` is off in the config.

        Raises:
            ValueError: an unknown beep name.
        """
        if isinstance(pattern, str):
            if pattern not in BEEPS:
                raise ValueError(f"unknown beep {pattern!r}; known: {', '.join(sorted(BEEPS))}")
            pattern = BEEPS[pattern]
        if not self._cfg.sound:
            return
        with self._lock:
            if self._closed:
                return
            self._buzzer.blink(on_time=pattern.on_s, off_time=pattern.off_s, n=pattern.count)

    def close(self) -> None:
        """Switch light and buzzer off and free their pins; idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for device in (self._buzzer, self._led):
                if device is not None:
                    device.close()
