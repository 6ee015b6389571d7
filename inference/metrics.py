"""What the hair model reports per image: the numbers clinics track, and where the hairs are."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from dermocap.metrics import RESULT_METRICS, HairMeasures


class EmergencePoint(BaseModel):
    """One detected follicular opening, in pixels of the analysed image."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    x_px: float = Field(description="Column of the emergence point, image pixels")
    y_px: float = Field(description="Row of the emergence point, image pixels")
    hairs: int = Field(ge=1, description="Hairs sharing this opening")
    diameter_um: float = Field(ge=0.0, description="Mean shaft diameter of those hairs")


class SecondOpinionSummary(BaseModel):
    """The classical counter's reading beside the network's (:mod:`inference.second_opinion`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    applicable: bool = Field(description="Whether the frame suits the classical counter")
    reason: str = Field("", description="Why it does not, when it does not")
    density_per_cm2: float = Field(ge=0.0, description="The classical counter's density")


class HairMetrics(HairMeasures):
    """Hair density and thickness of one image (:class:`~dermocap.metrics.HairMeasures`),
    with the scale, the model that measured them and where the hairs are."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    um_per_px: float = Field(gt=0.0, description="Scale of the analysed image")
    model_name: str = Field(description="Model name from its manifest")
    model_version: str = Field(description="Model version from its manifest")
    model_sha256: str = Field(description="SHA-256 of the ONNX file that ran")
    model_output_gain: float = Field(
        1.0, description="Gain its manifest puts on that file's output maps (1: none)"
    )
    inference_ms: float = Field(ge=0.0, description="Time in the network (all tiles)")
    total_ms: float = Field(ge=0.0, description="Time of the whole analysis incl. resampling")
    runtime_version: str = Field("unknown", description="Engine that ran the network")
    numpy_version: str = Field("unknown", description="numpy of the pre/post-processing")
    second_opinion: SecondOpinionSummary | None = Field(
        None, description="The classical shaft counter's reading (None: not run)"
    )
    review: bool = Field(False, description="A person should look at this result")
    review_reasons: list[str] = Field(
        default_factory=list, description="Why (the network and the classical count disagree)"
    )
    review_kinds: list[str] = Field(
        default_factory=list,
        description="What each reason is about, in its order (inference.second_opinion's "
        "REVIEW_KINDS: hair_mat, no_shafts, ...)",
    )
    emergence_points: list[EmergencePoint] = Field(
        default_factory=list, description="Every detected opening (for the overlay)"
    )

    def summary(self) -> dict[str, object]:
        """The JSON-ready numbers without the point list (one line per image in the CLI)."""
        return self.model_dump(exclude={"emergence_points"})

    def result_metrics(self) -> dict[str, object]:
        """The numbers a result message carries (:data:`~dermocap.metrics.RESULT_METRICS`)."""
        return self.model_dump(include=set(RESULT_METRICS))
