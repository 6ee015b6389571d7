"""What the hair model reports per image: the numbers clinics track, and where the hairs are."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class EmergencePoint(BaseModel):
    """One detected follicular opening, in pixels of the analysed image."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    x_px: float = Field(description="Column of the emergence point, image pixels")
    y_px: float = Field(description="Row of the emergence point, image pixels")
    hairs: int = Field(ge=1, description="Hairs sharing this opening")
    diameter_um: float = Field(ge=0.0, description="Mean shaft diameter of those hairs")


class HairMetrics(BaseModel):
    """Hair density and thickness of one image, with the model that measured them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hair_count: int = Field(ge=0, description="Hairs emerging in the field of view")
    density_per_cm2: float = Field(ge=0.0, description="Hairs per cm2")
    terminal_density_per_cm2: float = Field(ge=0.0, description="Hairs >= threshold per cm2")
    vellus_density_per_cm2: float = Field(ge=0.0, description="Hairs < threshold per cm2")
    vellus_fraction: float = Field(ge=0.0, le=1.0, description="Vellus share of all hairs")
    vellus_threshold_um: float = Field(gt=0.0, description="Diameter splitting vellus/terminal")
    mean_diameter_um: float = Field(ge=0.0, description="Mean shaft diameter")
    cumulative_thickness_mm_per_cm2: float = Field(
        ge=0.0, description="Sum of shaft diameters per cm2 of scalp"
    )
    area_cm2: float = Field(gt=0.0, description="Scalp area in the field of view")
    follicular_units_per_cm2: float = Field(ge=0.0, description="Hair-bearing openings per cm2")
    unit_shares_1_2_3_4plus: list[float] = Field(
        min_length=4, max_length=4, description="Share of units with 1, 2, 3, 4+ hairs"
    )
    um_per_px: float = Field(gt=0.0, description="Scale of the analysed image")
    model_name: str = Field(description="Model name from its manifest")
    model_version: str = Field(description="Model version from its manifest")
    model_sha256: str = Field(description="SHA-256 of the ONNX file that ran")
    inference_ms: float = Field(ge=0.0, description="Time in the network (all tiles)")
    total_ms: float = Field(ge=0.0, description="Time of the whole analysis incl. resampling")
    emergence_points: list[EmergencePoint] = Field(
        default_factory=list, description="Every detected opening (for the overlay)"
    )

    def summary(self) -> dict[str, object]:
        """The JSON-ready numbers without the point list (one line per image in the CLI)."""
        return self.model_dump(exclude={"emergence_points"})
