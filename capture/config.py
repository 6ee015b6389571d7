"""Config sections owned by capture/: the camera and lens, and the capture protocol."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from dermocap.configbase import Section


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


class CaptureConfig(Section):
    """How a site is captured and stored."""

    image_format: Literal["jpeg", "png"] = Field(
        "jpeg", description="jpeg (quality below, no chroma subsampling) or lossless png"
    )
    jpeg_quality: int = Field(95, ge=70, le=100, description="JPEG quality of kept images")
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
