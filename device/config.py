"""Config sections owned by device/ (rig, button, lighting, stage, status) and the whole tree.

The whole tree, :class:`DermocapConfig`, composes one section per package;
:func:`load_config` reads a TOML file and reports every problem with its key path.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, model_validator

from capture.config import CameraConfig, CaptureConfig
from dashboard.config import DashboardConfig
from dermocap.configbase import Section
from dermocap.errors import ConfigError
from inference.config import InferenceConfig
from sim.config import SimConfig
from sync.config import SyncConfig

PinName = Annotated[
    int | str,
    Field(description="GPIO pin: a BCM number (17) or a gpiozero name ('GPIO17', 'BOARD11')"),
]


def _pin_key(pin: int | str) -> str:
    """Normalise a pin name so 17, 'GPIO17' and 'BCM17' compare equal."""
    if isinstance(pin, int):
        return f"GPIO{pin}"
    s = pin.strip().upper()
    for prefix in ("BCM", "GPIO"):
        if s.startswith(prefix) and s[len(prefix) :].isdigit():
            return f"GPIO{int(s[len(prefix) :])}"
    if s.isdigit():
        return f"GPIO{int(s)}"
    return s


class RigConfig(Section):
    """Which rig the service drives and where it keeps its state."""

    backend: Literal["twin", "hardware"] = Field(
        "twin",
        description="'hardware' drives real pins and picamera2; 'twin' runs the digital twin "
        "on gpiozero's MockFactory",
    )
    device_id: str = Field(
        "rig-01",
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description="Unique id of this rig; used in MQTT topics and client id",
    )
    state_dir: str = Field(
        "",
        description="Folder for captures, calibration and the outbox database; empty means "
        "$STATE_DIRECTORY (set by systemd), else ~/.local/state/dermocap",
    )

    def resolved_state_dir(self) -> Path:
        """The state folder, resolved from config, systemd or the user's home."""
        if self.state_dir:
            return Path(self.state_dir).expanduser()
        env = os.environ.get("STATE_DIRECTORY")
        if env:
            return Path(env.split(":")[0])
        return Path.home() / ".local" / "state" / "dermocap"


class ButtonConfig(Section):
    """The technician's capture button (to ground, internal pull-up)."""

    pin: PinName = 17
    hold_s: float = Field(
        2.0, ge=0.5, le=10.0, description="Holding this long means cancel / retake, not capture"
    )
    bounce_s: float = Field(0.02, ge=0.0, le=0.2, description="Debounce time of the switch")


class LedChannelConfig(Section):
    """One LED ring driven by a PWM pin through a constant-current driver."""

    pin: PinName
    max_duty: float = Field(
        1.0, gt=0.0, le=1.0, description="Upper bound on the PWM duty, protecting the LEDs"
    )


class LightingConfig(Section):
    """The two light rings: cross-polarised (no glare) and non-polarised (surface sheen)."""

    cross: LedChannelConfig = Field(
        LedChannelConfig(pin=12),
        description="Cross-polarised ring: polariser on the LEDs crossed with the lens' analyser",
    )
    parallel: LedChannelConfig = Field(
        LedChannelConfig(pin=13),
        description="Non-polarised ring: shows surface sheen and specular glare",
    )
    pwm_frequency_hz: float = Field(
        2000.0,
        ge=1000.0,
        le=100_000.0,
        description="PWM frequency; under 1 kHz a rolling-shutter sensor records dark bands",
    )
    settle_ms: float = Field(
        60.0, ge=0.0, le=2000.0, description="Wait after a light change before a frame is used"
    )


class StageConfig(Section):
    """The motorised Z stage: a step/dir/enable driver (A4988 / DRV8825) and a home switch."""

    step_pin: PinName = 20
    dir_pin: PinName = 21
    enable_pin: PinName = Field(16, description="Driver enable, active low (A4988 /ENABLE)")
    limit_pin: PinName = Field(
        26, description="Home limit switch at z = 0, to ground, closed (low) at home"
    )
    dir_up_level: Literal[0, 1] = Field(
        1, description="Level of the dir pin that moves the stage up (towards larger z)"
    )
    steps_per_mm: float = Field(
        400.0, ge=10.0, le=20_000.0, description="Microsteps per mm of travel"
    )
    min_mm: float = Field(0.5, ge=0.0, le=50.0, description="Lower soft limit of z in mm")
    max_mm: float = Field(12.0, gt=0.0, le=50.0, description="Upper soft limit of z in mm")
    speed_mm_s: float = Field(4.0, gt=0.0, le=50.0, description="Cruise speed in mm/s")
    accel_mm_s2: float = Field(20.0, gt=0.0, le=1000.0, description="Acceleration in mm/s^2")
    homing_speed_mm_s: float = Field(2.0, gt=0.0, le=20.0, description="Speed towards the switch")
    homing_backoff_mm: float = Field(
        0.5, gt=0.0, le=5.0, description="Back-off after the switch closes, then a slow re-touch"
    )
    max_travel_mm: float = Field(
        15.0, gt=0.0, le=60.0, description="Homing gives up after this much travel without a switch"
    )
    backlash_mm: float = Field(
        0.05,
        ge=0.0,
        le=2.0,
        description="Lost motion on reversal; each final approach is made upwards, overshooting "
        "by this much when coming from above, until `dermocap calibrate` measures the real play",
    )
    focus_mm: float = Field(
        6.0, ge=0.0, le=50.0, description="Nominal z of best focus before autofocus refines it"
    )

    @model_validator(mode="after")
    def _limits_ordered(self) -> StageConfig:
        if self.min_mm >= self.max_mm:
            raise ValueError("min_mm must be below max_mm")
        if not self.min_mm <= self.focus_mm <= self.max_mm:
            raise ValueError("focus_mm must lie between min_mm and max_mm")
        if self.min_mm < self.backlash_mm:
            raise ValueError(
                f"min_mm ({self.min_mm:g}) must be at least backlash_mm ({self.backlash_mm:g}): "
                "a move down to min_mm overshoots by the backlash and would hit the home switch"
            )
        return self


class StatusConfig(Section):
    """The status light (RGB LED, common cathode) and buzzer seen and heard by the technician."""

    red_pin: PinName = 22
    green_pin: PinName = 23
    blue_pin: PinName = 24
    buzzer_pin: PinName = 25
    active_high: bool = Field(True, description="False for a common-anode RGB LED")
    brightness: float = Field(0.6, gt=0.0, le=1.0, description="Scale of every LED colour")
    sound: bool = Field(True, description="Beep on events; off for quiet rooms")


class DermocapConfig(Section):
    """The whole configuration: one section per package. Every key has a default."""

    rig: RigConfig = Field(RigConfig(), description="Backend, device id, state folder")
    button: ButtonConfig = Field(ButtonConfig(), description="Capture button")
    lighting: LightingConfig = Field(LightingConfig(), description="LED rings")
    stage: StageConfig = Field(StageConfig(), description="Motorised Z stage")
    status: StatusConfig = Field(StatusConfig(), description="Status light and buzzer")
    camera: CameraConfig = Field(CameraConfig(), description="Camera and lens (capture/)")
    capture: CaptureConfig = Field(CaptureConfig(), description="Capture protocol (capture/)")
    inference: InferenceConfig = Field(InferenceConfig(), description="Hair model (inference/)")
    sync: SyncConfig = Field(SyncConfig(), description="MQTT sync (sync/)")
    sim: SimConfig = Field(SimConfig(), description="Digital twin (sim/)")
    dashboard: DashboardConfig = Field(
        DashboardConfig(), description="Clinic dashboard (dashboard/), when this host runs it"
    )

    @model_validator(mode="after")
    def _pins_unique(self) -> DermocapConfig:
        seen: dict[str, str] = {}
        for path, pin in self.pins().items():
            key = _pin_key(pin)
            if key in seen:
                raise ValueError(f"pin {pin!r} of {path} is already used by {seen[key]}")
            seen[key] = path
        return self

    def pins(self) -> dict[str, int | str]:
        """Every GPIO pin in use, by key path."""
        return {
            "button.pin": self.button.pin,
            "lighting.cross.pin": self.lighting.cross.pin,
            "lighting.parallel.pin": self.lighting.parallel.pin,
            "stage.step_pin": self.stage.step_pin,
            "stage.dir_pin": self.stage.dir_pin,
            "stage.enable_pin": self.stage.enable_pin,
            "stage.limit_pin": self.stage.limit_pin,
            "status.red_pin": self.status.red_pin,
            "status.green_pin": self.status.green_pin,
            "status.blue_pin": self.status.blue_pin,
            "status.buzzer_pin": self.status.buzzer_pin,
        }


def _format_loc(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1]}[{item}]"] if parts else [f"[{item}]"]
        else:
            parts.append(str(item))
    return ".".join(parts) or "(top level)"


def validation_errors(exc: ValidationError) -> list[tuple[str, str]]:
    """Turn a pydantic error into ``(key_path, message)`` pairs a person can act on."""
    out: list[tuple[str, str]] = []
    for err in exc.errors():
        loc = tuple(x for x in err["loc"] if not (isinstance(x, str) and x.startswith("function-")))
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; `dermocap config show` lists every key)"
        elif msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        if (
            "input" in err
            and err["type"] != "extra_forbidden"
            and not isinstance(err["input"], dict)
        ):
            msg = f"{msg} (got {err['input']!r})"
        out.append((_format_loc(loc), msg))
    return out


def _drop(data: Any, loc: tuple[int | str, ...]) -> bool:
    """Remove the value at ``loc`` from nested dicts; True when something was removed."""
    node = data
    for key in loc[:-1]:
        if not isinstance(node, dict) or key not in node:
            return False
        node = node[key]
    if isinstance(node, dict) and loc and loc[-1] in node:
        del node[loc[-1]]
        return True
    return False


def parse_config(data: dict[str, Any], source: str = "<config>") -> DermocapConfig:
    """Validate a parsed TOML mapping; raises ConfigError listing every problem.

    pydantic skips a model's cross-field checks (limits in order, pins unique)
    while any of its fields is invalid; to report every error in one go, the bad
    keys are dropped and the rest validated again, a few rounds at most.
    """
    import copy

    errors: list[tuple[str, str]] = []
    work = copy.deepcopy(data)
    for _ in range(4):
        try:
            cfg = DermocapConfig.model_validate(work)
        except ValidationError as exc:
            found = validation_errors(exc)
            errors.extend(e for e in found if e not in errors)
            dropped = False
            for err in exc.errors():
                loc = tuple(x for x in err["loc"] if isinstance(x, str | int))
                dropped |= _drop(work, loc)
            if not dropped:
                break
        else:
            if not errors:
                return cfg
            break
    lines = "\n".join(f"  {k}: {m}" for k, m in errors)
    raise ConfigError(f"{source} has {len(errors)} error(s):\n{lines}", errors)


def load_config(path: Path | str | None) -> DermocapConfig:
    """Load the config file at ``path``; ``None`` gives the defaults (the twin).

    Raises:
        ConfigError: the file is missing, not TOML, or fails validation.
    """
    if path is None:
        return DermocapConfig()
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"config file {p} not found: create it (see `dermocap config show`)",
            [("(file)", "not found")],
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read {p}: {exc.strerror}", [("(file)", str(exc))]) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p} is not valid TOML: {exc}", [("(file)", str(exc))]) from None
    return parse_config(data, str(p))


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def to_toml(cfg: DermocapConfig, *, comments: bool = True) -> str:
    """The effective config as a TOML file, each key with its description as a comment.

    Keys whose value is unset (``None``) are written commented out, so the output is
    itself a valid config file.
    """
    lines: list[str] = []

    def walk(model: Section, path: list[str]) -> None:
        scalars: list[tuple[str, Any, str]] = []
        subs: list[tuple[str, Section, str]] = []
        for name, info in type(model).model_fields.items():
            value = getattr(model, name)
            desc = info.description or ""
            if isinstance(value, Section):
                subs.append((name, value, desc))
            else:
                scalars.append((name, value, desc))
        if scalars and path:
            lines.append("")
            lines.append(f"[{'.'.join(path)}]")
        for name, value, desc in scalars:
            if comments and desc:
                lines.append(f"# {desc}")
            if value is None:
                lines.append(f"# {name} = (unset)")
            else:
                lines.append(f"{name} = {_toml_value(value)}")
        for name, sub, desc in subs:
            if comments and desc and not path:
                lines.append("")
                lines.append(f"# ---- {name}: {desc}")
            walk(sub, [*path, name])

    walk(cfg, [])
    return "\n".join(lines).lstrip("\n") + "\n"
