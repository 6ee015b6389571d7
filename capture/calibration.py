"""Calibration on the reference target, and the LED drift check at session start.

The target holds a neutral grey patch (left half of the frame) and a printed mm grid
(right half). Calibration brings the grey patch to a fixed linear level in closed loops
(exposure first, then gain, then each ring's LED intensity, in bounded steps), balances
white on it, fits the vignetting, and measures um/px from the grid.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from capture.camera import Controls, StillMode
from capture.config import CalibrationConfig
from capture.hardware import LightingMode, Lights
from capture.locked import LockedCamera
from capture.metrics import (
    F32,
    fit_flat_field,
    grey,
    grey_stats,
    linear,
    um_per_px_from_grid,
    white_balance_gains,
)
from dermocap import __version__
from dermocap.clock import utc_stamp
from dermocap.errors import CaptureError, TargetNotFound
from dermocap.ids import uuid7

log = logging.getLogger(__name__)

U8 = NDArray[np.uint8]


@dataclass(frozen=True)
class Calibration:
    """One calibration: the locked controls, LED intensities and the measured scale."""

    calibration_id: str
    created_at: str
    exposure_us: int
    analogue_gain: float
    colour_gains: tuple[float, float]
    lens_position: float | None
    led_intensity: dict[str, float]
    grey_target: float
    grey_level: dict[str, float]  # linear level of the patch per mode, still mode
    preview_grey_level: float  # the patch under the cross ring in the preview mode (drift ref)
    flat_field: tuple[float, float]  # vignetting 1 + a r^2 + b r^4
    um_per_px: float  # at the still mode's width
    um_per_px_xy: tuple[float, float]
    width: int
    height: int
    focus_z_mm: float | None
    software_version: str = __version__
    target: dict[str, Any] = field(default_factory=dict)
    backlash_mm: float | None = None  # the Z screw's play measured on the focus curve

    @property
    def controls(self) -> Controls:
        return Controls(self.exposure_us, self.analogue_gain, self.colour_gains, self.lens_position)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["colour_gains"] = list(self.colour_gains)
        d["flat_field"] = list(self.flat_field)
        d["um_per_px_xy"] = list(self.um_per_px_xy)
        d["schema"] = "dermocap.calibration/1"
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Calibration:
        """Rebuild from :meth:`as_dict` output; raises CaptureError if fields are missing."""
        try:
            return cls(
                calibration_id=str(d["calibration_id"]),
                created_at=str(d["created_at"]),
                exposure_us=int(d["exposure_us"]),
                analogue_gain=float(d["analogue_gain"]),
                colour_gains=(float(d["colour_gains"][0]), float(d["colour_gains"][1])),
                lens_position=None if d.get("lens_position") is None else float(d["lens_position"]),
                led_intensity={str(k): float(v) for k, v in d["led_intensity"].items()},
                grey_target=float(d["grey_target"]),
                grey_level={str(k): float(v) for k, v in d["grey_level"].items()},
                preview_grey_level=float(d["preview_grey_level"]),
                flat_field=(float(d["flat_field"][0]), float(d["flat_field"][1])),
                um_per_px=float(d["um_per_px"]),
                um_per_px_xy=(float(d["um_per_px_xy"][0]), float(d["um_per_px_xy"][1])),
                width=int(d["width"]),
                height=int(d["height"]),
                focus_z_mm=None if d.get("focus_z_mm") is None else float(d["focus_z_mm"]),
                software_version=str(d.get("software_version", "")),
                target=dict(d.get("target", {})),
                backlash_mm=None if d.get("backlash_mm") is None else float(d["backlash_mm"]),
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise CaptureError(
                f"calibration record incomplete ({exc}): run `dermocap calibrate` again"
            ) from exc


# Where the target's parts fall in the frame (shares of width and height).
def patch_region(lin: F32) -> F32:
    """The centre of the grey patch (left half), away from the edges and the split."""
    h, w = lin.shape[:2]
    return lin[int(0.3 * h) : int(0.7 * h), int(0.3 * w) : int(0.46 * w)]


def patch_mask(h: int, w: int) -> NDArray[np.bool_]:
    """Every pixel of the grey patch used for the flat-field fit."""
    m = np.zeros((h, w), dtype=bool)
    m[int(0.02 * h) : int(0.98 * h), int(0.01 * w) : int(0.47 * w)] = True
    return m


def grid_region(lin_grey: F32) -> F32:
    h, w = lin_grey.shape
    return lin_grey[int(0.03 * h) : int(0.97 * h), int(0.55 * w) : int(0.98 * w)]


def patch_level(img: U8) -> tuple[float, tuple[float, float, float], float]:
    """(green linear level, mean RGB, uniformity) of the grey patch in a frame."""
    st = grey_stats(patch_region(linear(img)))
    return st.mean_rgb[1], st.mean_rgb, st.uniformity


# The grey patch as the reference target holds it: even (std / mean of its centre) and, at
# the calibrated white balance, grey. Calibration wants it flat and well placed; the drift
# check only that it is the patch: a target put down again may show some of its edge (the
# twin's reseat: 13 %), while skin reads red / green 1.3-1.6 and hair 0.3 uneven or more.
MAX_PATCH_UNEVENNESS = 0.08
MAX_DRIFT_PATCH_UNEVENNESS = 0.25
MAX_PATCH_TINT = 0.1  # largest |red / green - 1| and |blue / green - 1| at calibrated gains
# A ring lit at its calibrated intensity that adds less than this share of the calibrated
# patch's LED light gives none: dead (skin or dense black hair under it still reflect 20 %+).
DEAD_RING_SHARE = 0.05


def _bounded(ratio: float, max_ratio: float) -> float:
    return min(max_ratio, max(1.0 / max_ratio, ratio))


def _next_controls(
    c: Controls, ratio: float, cfg: CalibrationConfig, exposure_min_us: int = 100
) -> Controls:
    """Exposure first, then gain, when more light is needed; gain first down when less."""
    exp, gain = float(c.exposure_us), c.analogue_gain
    if ratio >= 1.0:
        want = exp * ratio
        if want <= cfg.max_exposure_us:
            exp = want
        else:
            gain = min(cfg.max_gain, gain * want / cfg.max_exposure_us)
            exp = float(cfg.max_exposure_us)
    else:
        want_gain = gain * ratio
        if want_gain >= 1.0:
            gain = want_gain
        else:
            exp = max(exposure_min_us, exp * ratio * gain)
            gain = 1.0
    return Controls(round(exp), gain, c.colour_gains, c.lens_position)


def calibrate_on_target(
    cam: LockedCamera,
    lights: Lights,
    *,
    still: StillMode,
    preview: StillMode,
    modes: tuple[LightingMode, ...],
    intensity: dict[str, float],
    nominal_um_per_px: float,
    cfg: CalibrationConfig,
    focus_z_mm: float | None = None,
) -> Calibration:
    """Calibrate with the reference target under the lens (focused already).

    Raises:
        CaptureError: the target is missing or unevenly lit, a loop does not converge, or
            the measured scale is implausible.
    """
    cam.use_mode(still)
    first = modes[0]
    lights.set(first, intensity[first])
    lights.wait_settled()
    controls = cam.controls
    # 1. Exposure, then gain, with white balance on the way (closed loop, bounded steps).
    level = 0.0
    uniform = 0.0
    for step in range(cfg.max_steps):
        frame = cam.capture()
        level, rgb, uniform = patch_level(frame.array)
        if uniform > MAX_PATCH_UNEVENNESS:
            raise TargetNotFound(
                f"grey patch not found (unevenness {uniform:.0%}): place the reference target "
                "flat under the cone, grey patch on the left, and calibrate again"
            )
        gains = white_balance_gains(rgb, controls.colour_gains)
        wb_ok = (
            max(
                abs(gains[0] / controls.colour_gains[0] - 1),
                abs(gains[1] / controls.colour_gains[1] - 1),
            )
            < cfg.grey_tolerance
        )
        err = cfg.grey_target / max(level, 1e-6)
        if abs(err - 1) <= cfg.grey_tolerance and wb_ok:
            break
        nxt = _next_controls(controls, _bounded(err, cfg.max_step_ratio), cfg)
        controls = Controls(nxt.exposure_us, nxt.analogue_gain, gains, nxt.lens_position)
        cam.lock(controls)
        log.debug("calibration step %d: level %.4f -> %s", step, level, controls)
    else:
        raise CaptureError(
            f"exposure loop did not converge (grey level {level:.3f}, target "
            f"{cfg.grey_target:.3f}): check that the {first} ring lights up, then calibrate again"
        )
    # 2. Each ring's LED intensity brings the patch to the same level at these controls.
    led: dict[str, float] = {}
    levels: dict[str, float] = {}
    kept = frame
    for mode in modes:
        value = intensity[mode]
        for _ in range(cfg.max_steps):
            lights.set(mode, value)
            lights.wait_settled()
            f = cam.capture()
            lvl, _, _ = patch_level(f.array)
            err = cfg.grey_target / max(lvl, 1e-6)
            if abs(err - 1) <= cfg.grey_tolerance:
                break
            new = min(1.0, value * _bounded(err, cfg.max_step_ratio))
            if new == value:  # at full power already
                raise CaptureError(
                    f"the {mode} ring cannot light the target to the calibrated level "
                    f"({lvl:.3f} < {cfg.grey_target:.3f}) at full power: replace the ring"
                )
            value = new
        else:
            raise CaptureError(f"LED loop of the {mode} ring did not converge: calibrate again")
        led[mode], levels[mode] = value, lvl
        if mode == first:
            kept = f
    # 3. Flat field from the grey patch, and the scale from the grid.
    lin = linear(kept.array)
    g_lin = lin[..., 1]
    h, w = g_lin.shape
    flat = fit_flat_field(g_lin, patch_mask(h, w))
    try:
        flat_grey = grey(lin) / _ff(h, w, flat)
        ux, uy = um_per_px_from_grid(grid_region(flat_grey), pitch_mm=cfg.grid_pitch_mm)
    except ValueError as exc:
        raise CaptureError(
            f"the mm grid was not found ({exc}): place the target with the grid on the right"
        ) from exc
    upp = (ux + uy) / 2
    if abs(ux / uy - 1) > 0.02 or abs(upp / nominal_um_per_px - 1) > cfg.max_scale_error:
        raise CaptureError(
            f"measured scale {ux:.3f} x {uy:.3f} um/px is implausible (nominal "
            f"{nominal_um_per_px:.3f}): check the target is square and in focus, calibrate again"
        )
    # 4. The drift reference: the patch under the first ring in the preview mode.
    lights.set(first, led[first])
    lights.wait_settled()
    cam.use_mode(preview)
    preview_level, _, _ = patch_level(cam.capture().array)
    cam.use_mode(still)
    lights.off()
    cal = Calibration(
        calibration_id=str(uuid7()),
        created_at=utc_stamp(),
        exposure_us=controls.exposure_us,
        analogue_gain=round(controls.analogue_gain, 4),
        colour_gains=(round(controls.colour_gains[0], 4), round(controls.colour_gains[1], 4)),
        lens_position=controls.lens_position,
        led_intensity={k: round(v, 5) for k, v in led.items()},
        grey_target=cfg.grey_target,
        grey_level={k: round(v, 5) for k, v in levels.items()},
        preview_grey_level=round(preview_level, 5),
        flat_field=(round(flat[0], 5), round(flat[1], 5)),
        um_per_px=round(upp, 5),
        um_per_px_xy=(round(ux, 5), round(uy, 5)),
        width=still.width,
        height=still.height,
        focus_z_mm=focus_z_mm,
        target={"grid_pitch_mm": cfg.grid_pitch_mm, "kind": "grey patch + mm grid"},
    )
    log.info(
        "calibrated %s: exposure %d us, gain %.2f, gains %s, %.4f um/px",
        cal.calibration_id,
        cal.exposure_us,
        cal.analogue_gain,
        cal.colour_gains,
        cal.um_per_px,
    )
    return cal


def _ff(h: int, w: int, coef: tuple[float, float]) -> F32:
    from capture.metrics import flat_field_map

    return flat_field_map(h, w, coef)


@dataclass(frozen=True)
class DriftReport:
    """The session-start check of the LED output against the calibration."""

    calibration_id: str
    reference_level: float
    measured_level: float
    ambient_level: float
    drift: float  # measured / reference - 1 (negative: dimmer)
    trim: float  # factor applied to every ring's intensity (1.0 = none)
    led_intensity: dict[str, float]
    warned: bool
    corrected_level: float

    def as_dict(self) -> dict[str, Any]:
        return {k: (round(v, 5) if isinstance(v, float) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DriftReport:
        """The report :meth:`as_dict` wrote. Raises ValueError on a missing or odd field."""
        try:
            return cls(
                calibration_id=str(d["calibration_id"]),
                reference_level=float(d["reference_level"]),
                measured_level=float(d["measured_level"]),
                ambient_level=float(d["ambient_level"]),
                drift=float(d["drift"]),
                trim=float(d["trim"]),
                led_intensity={str(k): float(v) for k, v in dict(d["led_intensity"]).items()},
                warned=bool(d["warned"]),
                corrected_level=float(d["corrected_level"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a drift report: {exc}") from exc


def check_drift(
    cam: LockedCamera,
    lights: Lights,
    cal: Calibration,
    *,
    preview: StillMode,
    cfg: CalibrationConfig,
) -> DriftReport:
    """Measure the grey patch at the calibrated settings; warn and trim the LEDs on drift.

    A drift past ``drift_warn`` is logged and marked in the report (``warned``), for the
    caller to show.

    The reference target must be under the lens. A dark frame (rings off) separates room
    light from LED light, so the trim restores the LED share exactly.

    Raises:
        TargetNotFound: the lit patch is uneven or not grey: the target is not there.
        CaptureError: the drift exceeds ``drift_fail`` or cannot be trimmed away: recalibrate.
    """
    first = next(iter(cal.led_intensity))
    cam.lock(cal.controls)
    cam.use_mode(preview)
    lights.off()
    lights.wait_settled()
    ambient, _, _ = patch_level(cam.capture().array)
    lights.set(first, cal.led_intensity[first])  # type: ignore[arg-type]
    lights.wait_settled()
    measured, (r, g, b), uneven = patch_level(cam.capture().array)
    g = max(g, 1e-6)
    ref = cal.preview_grey_level
    if measured - ambient < DEAD_RING_SHARE * max(ref - ambient, 1e-6):
        lights.off()  # before the target test: a dark patch is no patch, but this is the ring
        raise CaptureError(
            f"the {first} ring gives almost no light ({measured:.3f} lit against "
            f"{ambient:.3f} dark; calibrated {ref:.3f}): check its cable and driver or replace "
            "it, then recalibrate the rig (`dermocap calibrate`)"
        )
    tint = max(abs(r / g - 1), abs(b / g - 1))
    if uneven > MAX_DRIFT_PATCH_UNEVENNESS or tint > MAX_PATCH_TINT:
        lights.off()
        raise TargetNotFound(
            f"the reference target is not under the cone (the patch is {uneven:.0%} uneven, "
            f"red/green {r / g:.2f}, blue/green {b / g:.2f}; the grey patch is even and "
            "grey): put the target flat under the cone, grey patch on the left"
        )
    drift = measured / ref - 1.0
    trim, corrected = 1.0, measured
    led = dict(cal.led_intensity)
    warned = abs(drift) > cfg.drift_warn
    if abs(drift) > cfg.drift_fail:
        lights.off()
        raise CaptureError(
            f"LED output is {drift:+.0%} off the calibration {cal.calibration_id}: "
            "recalibrate the rig on the reference target (`dermocap calibrate`)"
        )
    if cfg.compensate_drift and measured - ambient > 1e-4:
        for _ in range(3):
            trim *= max(0.0, ref - ambient) / max(corrected - ambient, 1e-6)
            led = {k: min(1.0, v * trim) for k, v in cal.led_intensity.items()}
            lights.set(first, led[first])  # type: ignore[arg-type]
            lights.wait_settled()
            corrected, _, _ = patch_level(cam.capture().array)
            if abs(corrected / ref - 1) <= cfg.grey_tolerance / 2:
                break
    lights.off()
    if warned:
        log.warning(
            "LED output %+.1f%% since calibration %s: compensated by an LED trim of x%.3f; "
            "recalibrate soon and replace the ring if it keeps dimming",
            drift * 100,
            cal.calibration_id,
            trim,
        )
    return DriftReport(
        calibration_id=cal.calibration_id,
        reference_level=ref,
        measured_level=measured,
        ambient_level=ambient,
        drift=drift,
        trim=trim,
        led_intensity=led,
        warned=warned,
        corrected_level=corrected,
    )
