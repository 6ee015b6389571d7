"""Config section owned by inference/: which hair model, how many threads."""

from __future__ import annotations

from pydantic import Field

from dermocap.configbase import Section


class InferenceConfig(Section):
    """The on-device hair density model."""

    model: str = Field(
        "int8", min_length=1, description="'int8', 'fp32', or a path to an .onnx file"
    )
    threads: int = Field(2, ge=1, le=16, description="onnxruntime intra-op threads (Pi 5: 4)")
    vellus_threshold_um: float = Field(
        30.0, gt=0.0, le=200.0, description="Shafts thinner than this count as vellus"
    )
    overlay: bool = Field(True, description="Write an overlay image marking every detected hair")
