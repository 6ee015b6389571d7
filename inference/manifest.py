"""The model manifest: which ONNX files exist, their SHA-256 and what input they expect.

``manifest.json`` sits next to the model files (package data under
``inference/models/``, or the ``--out`` folder of the training script)::

    {"name": "dermocap-hair-density", "version": "1.0.0",
     "native_um_per_px": 8.0, "stride": 4, "margin_px": 32,
     "diameter_scale_um": 100.0, "vellus_split_um": 30.0,
     "models": {"int8": {"file": "hair_density_int8.onnx", "sha256": "...",
                         "output_gain": 1.04},
                "fp32": {"file": "hair_density_fp32.onnx", "sha256": "..."}}}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dermocap.errors import ModelError
from dermocap.fsutil import sha256_file

MANIFEST_NAME = "manifest.json"


class ModelFile(BaseModel):
    """One model file named in the manifest."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: str = Field(min_length=1, description="File name, relative to the manifest")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the file, hex")
    size_bytes: int = Field(ge=0, description="Size of the file")
    output_gain: float = Field(
        1.0,
        ge=0.5,
        le=2.0,
        description="Multiplies this file's three output maps at run time (1: none), so its "
        "mean diameters stay as it reads them: fitted on frames through the file's own "
        "analyze, so that an INT8 file whose quantisation shrinks its outputs a few % reads "
        "the densities its FP32 file was fitted to (docs/model_card.md, 2.2.0)",
    )


class Golden(BaseModel):
    """A check image and what the FP32 network answers on it (the load-time self-check)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: str = Field(min_length=1, description="RGB PNG at native scale, beside the manifest")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the file, hex")
    map_sums: tuple[float, float, float] = Field(
        description="Sums of the FP32 output maps (terminal, vellus, diameter) on it"
    )
    tolerance: float = Field(
        0.1, gt=0.0, le=1.0, description="Largest relative difference of the hair count accepted"
    )

    @property
    def hairs(self) -> float:
        """FP32's hair count on the check image (terminal plus vellus)."""
        return self.map_sums[0] + self.map_sums[1]

    def accepts(self, hairs: float) -> bool:
        """Whether a file's count on the check image is close enough to FP32's.

        Relative to the size of FP32's count, never tighter than a tenth of a hair (an untrained
        net counts near 0, of either sign).
        """
        return abs(hairs - self.hairs) <= self.tolerance * max(abs(self.hairs), 1.0)


class Manifest(BaseModel):
    """What the runtime needs to know about a model besides its weights."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, description="Model name")
    version: str = Field(min_length=1, description="Model version")
    native_um_per_px: float = Field(gt=0.5, le=50.0, description="Scale the model expects")
    stride: int = Field(ge=1, le=32, description="Input pixels per output cell")
    margin_px: int = Field(ge=0, le=512, description="Context each tile needs, native px")
    diameter_scale_um: float = Field(gt=0.0, description="Unit of the diameter-sum map")
    vellus_split_um: float = Field(gt=0.0, description="Diameter splitting maps 0 and 1")
    models: dict[str, ModelFile] = Field(description="Model files by variant (int8, fp32)")
    training: dict[str, Any] = Field(default_factory=dict, description="How it was trained")
    golden: Golden | None = Field(None, description="Load-time self-check of every variant")


def read_manifest(path: Path) -> Manifest:
    """Read and validate a manifest file.

    Raises:
        ModelError: the file is missing, not JSON, or not a valid manifest.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"model manifest {path} not found; reinstall dermocap") from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"model manifest {path} is not readable JSON: {exc}") from None
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        raise ModelError(f"model manifest {path} is invalid: {exc.errors()[0]['msg']}") from None


def model_entries(variant_files: dict[str, Path]) -> dict[str, ModelFile]:
    """Manifest entries (name, SHA-256, size) for model files beside the manifest."""
    return {
        k: ModelFile(file=p.name, sha256=sha256_file(p), size_bytes=p.stat().st_size)
        for k, p in variant_files.items()
    }
