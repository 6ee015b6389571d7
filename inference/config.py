"""Config section owned by inference/: which hair model, how many threads, how to tile."""

from __future__ import annotations

from pydantic import Field

from dermocap.configbase import Section
from inference.second_opinion import REVIEW_FACTOR

MAX_VELLUS_THRESHOLD_UM = 200.0
"""The thickest vellus threshold accepted (um): terminal scalp hairs are 60-120 um."""


DEFAULT_TILE_PX = 768  # largest tile side, native pixels (see InferenceConfig.tile_px)


class InferenceConfig(Section):
    """The on-device hair density model."""

    model: str = Field(
        "int8", min_length=1, description="'int8', 'fp32', or a path to an .onnx file"
    )
    threads: int = Field(
        2,
        ge=1,
        le=16,
        description="onnxruntime intra-op threads and resampling bands; above 1 the second "
        "opinion runs on one more thread beside the network (Pi 5: 4)",
    )
    vellus_threshold_um: float = Field(
        30.0,
        gt=0.0,
        le=MAX_VELLUS_THRESHOLD_UM,
        description="Shafts thinner than this count as vellus",
    )
    overlay: bool = Field(True, description="Write an overlay image marking every detected hair")
    tile_px: int = Field(
        DEFAULT_TILE_PX,
        ge=64,
        le=8192,
        description=(
            "Largest tile side, in model-native pixels; smaller tiles use less memory "
            "(768: the rig's frame in four tiles, ~17 MB less at the network's peak than "
            "two of 1024, for ~10 % more network time)"
        ),
    )
    min_unit_mass: float = Field(
        0.5,
        ge=0.1,
        le=2.0,
        description="Hairs a density peak must hold to count as a follicular unit",
    )
    second_opinion: bool = Field(
        True,
        description=(
            "Run the classical shaft counter beside the network (trimmed-hair frames) and flag"
            " a result for review when the two disagree, or when long hair mats the frame and"
            " hides the openings"
        ),
    )
    review_factor: float = Field(
        REVIEW_FACTOR,
        gt=1.0,
        le=4.0,
        description=(
            "Factor by which the network/classical density ratio may stray either way from"
            " the expected one (second_opinion.REVIEW_CENTRE) before a result is flagged"
        ),
    )
