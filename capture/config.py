"""Config sections owned by capture/: the camera and lens, and the capture protocol."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from dermocap.configbase import Section
from dermocap.sitekey import compile_subject_pattern


class CameraConfig(Section):
    """Sensor mode, locked controls and the lens that sets the scale."""

    width: int = Field(2028, ge=64, le=9152, description="Still frame width in pixels")
    height: int = Field(1520, ge=48, le=6944, description="Still frame height in pixels")
    preview_width: int = Field(
        507, ge=32, le=4056, description="Low-resolution frame width used by autofocus"
    )
    preview_height: int = Field(380, ge=24, le=3040, description="Low-resolution frame height")
    exposure_us: int = Field(
        8000, ge=50, le=1_000_000, description="Fixed exposure time; AE is always off"
    )
    analogue_gain: float = Field(1.0, ge=1.0, le=16.0, description="Fixed analogue gain")
    colour_gains: tuple[float, float] = Field(
        (1.6, 1.9),
        description="Fixed (red, blue) white-balance gains; AWB is always off",
    )
    lens_position: float | None = Field(
        None,
        ge=0.0,
        le=32.0,
        description="Fixed lens position in dioptres for a Camera Module 3; none for a "
        "fixed-focus lens (focus then comes from the Z stage)",
    )
    pixel_size_um: float = Field(
        1.55, gt=0.1, le=20.0, description="Sensor pixel pitch (HQ camera IMX477: 1.55 um)"
    )
    binning: int = Field(2, ge=1, le=4, description="Sensor binning of the configured mode")
    magnification: float = Field(
        0.6, gt=0.01, le=20.0, description="Nominal optical magnification of the lens"
    )
    frame_duration_us: int = Field(
        33_333, ge=1000, le=2_000_000, description="Frame period of the sensor mode"
    )
    timeout_s: float = Field(
        5.0, gt=0.0, le=60.0, description="A capture that takes longer raises CameraTimeout"
    )

    @property
    def nominal_um_per_px(self) -> float:
        """Scale from the lens data sheet; calibration measures the real one."""
        return self.pixel_size_um * self.binning / self.magnification

    @model_validator(mode="after")
    def _gains_positive(self) -> CameraConfig:
        if not all(0.1 <= g <= 8.0 for g in self.colour_gains):
            raise ValueError("colour_gains must each lie in 0.1..8.0")
        return self


class AutofocusConfig(Section):
    """Z sweep of the stage on low-resolution frames: coarse, then fine, always upwards."""

    coarse_half_range_mm: float = Field(
        1.5, gt=0.0, le=10.0, description="Coarse sweep covers stage.focus_mm +- this"
    )
    coarse_step_mm: float = Field(0.2, ge=0.01, le=2.0, description="Step of the coarse sweep")
    fine_half_range_mm: float = Field(
        0.4, gt=0.0, le=3.0, description="Fine sweep covers the coarse peak's centre +- this"
    )
    fine_step_mm: float = Field(0.05, ge=0.0025, le=0.5, description="Step of the fine sweep")
    flank_level: float = Field(
        0.5,
        gt=0.05,
        lt=0.95,
        description="Height between the sweep's floor and peak at which the two flanks are "
        "found; the focus is midway between them (robust to a flat-topped peak)",
    )
    max_recentres: int = Field(
        4, ge=0, le=20, description="Sweeps re-centred on a peak found at the sweep's edge"
    )
    max_time_s: float = Field(
        60.0, gt=0.0, le=600.0, description="Autofocus gives up (CaptureError) after this long"
    )


class QCConfig(Section):
    """Quality checks on each kept frame: each a measured value against a threshold."""

    min_focus_ratio: float = Field(
        0.35, ge=0.0, le=1.0, description="Least share of gradient energy in fine detail"
    )
    max_clipped_highlights: float = Field(
        0.01, ge=0.0, le=1.0, description="Largest share of pixels clipped at white"
    )
    max_clipped_shadows: float = Field(
        0.01, ge=0.0, le=1.0, description="Largest share of pixels clipped at black"
    )
    glare_level: int = Field(
        235, ge=128, le=255, description="8-bit level above which a colourless pixel is glare"
    )
    max_glare_fraction: float = Field(
        0.005, ge=0.0, le=1.0, description="Largest share of glare pixels in a frame"
    )
    max_motion_px: float = Field(
        1.5, gt=0.0, le=100.0, description="Largest shift between burst frames (full-res px)"
    )
    max_flicker: float = Field(
        0.03, gt=0.0, le=1.0, description="Largest relative spread of brightness in a burst"
    )
    max_lighting_mismatch: float = Field(
        0.1,
        gt=0.0,
        le=1.0,
        description="Largest relative difference of mean brightness from the baseline visit's "
        "capture of the same site and lighting mode",
    )


class CalibrationConfig(Section):
    """Calibration on the reference target and the LED drift check at session start."""

    grey_target: float = Field(
        0.4, gt=0.05, lt=0.95, description="Linear level (0..1) the grey patch is brought to"
    )
    grey_tolerance: float = Field(
        0.01, gt=0.0, le=0.2, description="Relative error of the grey level that ends a loop"
    )
    max_exposure_us: int = Field(
        15_000, ge=100, le=1_000_000, description="Exposure ceiling (motion); then gain rises"
    )
    max_gain: float = Field(4.0, ge=1.0, le=16.0, description="Analogue gain ceiling")
    max_step_ratio: float = Field(
        2.0, gt=1.0, le=10.0, description="Largest factor one loop step may change a control by"
    )
    max_steps: int = Field(12, ge=2, le=50, description="Steps of each closed loop")
    grid_pitch_mm: float = Field(1.0, gt=0.0, le=10.0, description="Pitch of the target's grid")
    max_scale_error: float = Field(
        0.2, gt=0.0, le=1.0, description="Measured um/px may differ this much from the nominal"
    )
    drift_warn: float = Field(
        0.05, gt=0.0, le=1.0, description="Relative grey-level drift that warns (LED ageing)"
    )
    drift_fail: float = Field(
        0.3, gt=0.0, le=1.0, description="Drift beyond which the rig must be recalibrated"
    )
    compensate_drift: bool = Field(
        True, description="Trim the LED intensity at session start to undo a measured drift"
    )
    daily_light_check: bool = Field(
        True,
        description="The service asks for the reference target before the day's first "
        "capture and checks the LED output on it (device/lightcheck.py); a hold skips it",
    )


class RelocationConfig(Section):
    """Guidance that brings a follow-up visit back onto the baseline's field of view."""

    overlap_threshold: float = Field(
        0.97, gt=0.5, le=1.0, description="Share of the baseline field of view to reach"
    )
    max_rotation_deg: float = Field(
        1.0, gt=0.0, le=45.0, description="Largest residual rotation accepted"
    )
    min_peak: float = Field(
        0.03, gt=0.0, le=1.0, description="Weaker correlation than this means another site"
    )
    max_rounds: int = Field(12, ge=1, le=100, description="Guidance rounds before giving up")
    follow_wait_s: float = Field(
        4.0,
        ge=0.5,
        le=60.0,
        description="Headless rig: seconds the technician gets to move the cone after guidance",
    )


class CaptureConfig(Section):
    """How a site is captured and stored."""

    image_format: Literal["jpeg", "png"] = Field(
        "jpeg", description="jpeg (quality below, no chroma subsampling) or lossless png"
    )
    jpeg_quality: int = Field(95, ge=70, le=100, description="JPEG quality of kept images")
    jpeg_optimize: bool = Field(
        False,
        description="Huffman-optimised JPEG: about 5 % smaller files for about 20 ms more an image",
    )
    burst_frames: int = Field(3, ge=1, le=20, description="Frames per lighting mode; sharpest kept")
    lighting_modes: tuple[Literal["cross", "parallel"], ...] = Field(
        ("cross", "parallel"),
        min_length=1,
        description="Lighting modes captured per site, in order",
    )
    cross_intensity: float = Field(0.7, ge=0.0, le=1.0, description="Cross-polarised LED duty")
    parallel_intensity: float = Field(0.35, ge=0.0, le=1.0, description="Non-polarised LED duty")
    metadata_tolerance: float = Field(
        0.05, gt=0.0, le=0.5, description="Relative mismatch of frame metadata that forces a retake"
    )
    disk_budget_mb: int = Field(
        8000,
        ge=10,
        le=2_000_000,
        description="Captures are refused when the state folder holds more",
    )
    min_free_mb: int = Field(
        200, ge=1, le=100_000, description="Captures are refused when the disk has less free space"
    )
    control_settle_frames: int = Field(
        3, ge=0, le=30, description="Frames waited after a mode switch or new controls"
    )
    max_frame_retries: int = Field(
        8, ge=0, le=100, description="Stale or mismatched frames dropped before giving up"
    )
    apply_flat_field: bool = Field(
        True, description="Divide the calibrated vignetting out of kept images"
    )
    subject_pattern: str | None = Field(
        None,
        description="This clinic's pseudonym pattern (e.g. '^P[0-9]{5}$'), matched against the "
        "whole id on top of the built-in rule (up to 8 letters then digits); it may only "
        "narrow that rule. Unset: the built-in rule alone",
    )
    autofocus: AutofocusConfig = Field(AutofocusConfig(), description="Autofocus sweep")
    qc: QCConfig = Field(QCConfig(), description="Quality checks and their thresholds")
    calibration: CalibrationConfig = Field(
        CalibrationConfig(), description="Calibration and LED drift check"
    )
    relocation: RelocationConfig = Field(
        RelocationConfig(), description="Relocation guidance for follow-up visits"
    )

    @field_validator("subject_pattern")
    @classmethod
    def _subject_pattern_usable(cls, v: str | None) -> str | None:
        if v is not None:
            compile_subject_pattern(v)  # a pattern that does not compile fails here, not later
        return v
