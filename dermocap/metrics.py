"""The hair metrics clinics track: the one definition of their names, units and meanings.

:class:`HairMeasures` is what the hair model measures on one image; inference's
``HairMetrics`` extends it (scale, model, timings, the emergence points), the result message
carries it (``sync.models.Metrics``: every number optional but density and count, with
sanity bounds), and the pipeline copies exactly :data:`RESULT_METRICS` into that message.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class HairMeasures(BaseModel):
    """Hair density and thickness in the field of view of one image."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    density_per_cm2: float = Field(ge=0, description="Hairs per cm2 of scalp")
    hair_count: int = Field(ge=0, description="Hairs emerging in the field of view")
    terminal_density_per_cm2: float = Field(ge=0, description="Hairs >= threshold per cm2")
    vellus_density_per_cm2: float = Field(ge=0, description="Hairs < threshold per cm2")
    vellus_fraction: float = Field(ge=0, le=1, description="Share of vellus hairs")
    vellus_threshold_um: float = Field(
        gt=0, description="Shaft diameter splitting vellus from terminal"
    )
    mean_diameter_um: float = Field(ge=0, description="Mean shaft diameter")
    cumulative_thickness_mm_per_cm2: float = Field(
        ge=0, description="Sum of shaft diameters per cm2 of scalp"
    )
    area_cm2: float = Field(gt=0, description="Scalp area analysed")
    follicular_units_per_cm2: float = Field(ge=0, description="Hair-bearing openings per cm2")
    unit_shares_1_2_3_4plus: list[float] = Field(
        min_length=4, max_length=4, description="Share of units with 1, 2, 3, 4+ hairs"
    )


# The model's own time rides along with the measures in a result message.
INFERENCE_MS = "inference_ms"
RESULT_METRICS: tuple[str, ...] = (*HairMeasures.model_fields, INFERENCE_MS)
