"""Command-line helpers of the twin: render one capture and its ground truth to files."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image
from pydantic import ValidationError

from dermocap.errors import ConfigError
from dermocap.fsutil import atomic_write_bytes, atomic_write_json
from sim.config import ScalpConfig, SimConfig
from sim.optics import SENSOR_RGB
from sim.twin import Twin

# Colour gains that make the twin's grey patch grey: what calibration should find.
NEUTRAL_COLOUR_GAINS = (float(1.0 / SENSOR_RGB[0]), float(1.0 / SENSOR_RGB[2]))


@dataclass(frozen=True)
class RenderRequest:
    """One twin capture as ``dermocap sim render`` makes it."""

    seed: int = 1
    width: int = 2028
    height: int = 1520
    nominal_um_per_px: float = 5.1667
    light: str = "cross"
    duty: float = 0.7
    exposure_us: int = 8000
    z_offset_mm: float = 0.0
    noise_seed: int = 0
    style_seed: int | None = None  # a random look of this seed; None: the configured look
    density_factor: float = 1.0  # the scalp regrown by this factor (sim.scalp.regrow; 0: bare)


def render_capture(
    sim_cfg: SimConfig, req: RenderRequest
) -> tuple[NDArray[np.uint8], dict[str, Any]]:
    """Render one frame of the configured scalp (seeded by ``req.seed``) and its ground truth."""
    changes: dict[str, Any] = {"seed": req.seed}
    if req.style_seed is not None:
        changes.update(look="random", style_seed=req.style_seed)
    scalp = sim_cfg.scalp.model_copy(update=changes)
    cfg = sim_cfg.model_copy(update={"scalp": scalp})
    twin = Twin(
        cfg, nominal_um_per_px=req.nominal_um_per_px, full_width=req.width, seed=req.noise_seed
    )
    twin.z_mm = cfg.optics.z_focus_mm + req.z_offset_mm
    if req.density_factor != 1.0:
        twin.regrow(req.density_factor, seed=req.seed)
    if req.light == "cross":
        twin.set_duty(cross=req.duty)
    else:
        twin.set_duty(parallel=req.duty)
    img = twin.render(
        width=req.width,
        height=req.height,
        exposure_us=req.exposure_us,
        analogue_gain=1.0,
        colour_gains=NEUTRAL_COLOUR_GAINS,
    )
    truth = twin.truth(req.width, req.height)
    truth["scalp"] = scalp.model_dump()
    truth["z_offset_mm"] = req.z_offset_mm
    truth["light"] = req.light
    return img, truth


def encode_png(img: NDArray[np.uint8]) -> bytes:
    """Lossless PNG bytes of an RGB frame."""
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG", compress_level=4)
    return buf.getvalue()


def write_render(
    img: NDArray[np.uint8], truth: dict[str, Any], out: Path, truth_path: Path | None
) -> None:
    """Write the frame (format from the suffix: .png, .jpg) and the truth JSON, atomically."""
    suffix = out.suffix.lower()
    if suffix in (".jpg", ".jpeg"):
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="JPEG", quality=95, subsampling=0)
        data = buf.getvalue()
    elif suffix == ".png":
        data = encode_png(img)
    else:
        raise ValueError(f"unknown image type {suffix!r}: use .png or .jpg")
    atomic_write_bytes(out, data)
    if truth_path is not None:
        atomic_write_json(truth_path, truth)


def scalp_from_overrides(base: ScalpConfig, **overrides: Any) -> ScalpConfig:
    """A scalp config with command-line overrides applied and validated."""
    data = base.model_dump()
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return ScalpConfig.model_validate(data)
    except ValidationError as exc:
        errors = [(".".join(str(x) for x in e["loc"]), e["msg"]) for e in exc.errors()]
        text = "; ".join(f"{k}: {m}" for k, m in errors)
        raise ConfigError(f"bad scalp settings: {text}", errors) from None


def summary(truth: dict[str, Any]) -> str:
    """One line a person can read."""
    keys = ("hair_count", "density_per_cm2", "mean_diameter_um", "vellus_fraction", "um_per_px")
    return json.dumps(
        {k: round(truth[k], 3) if isinstance(truth[k], float) else truth[k] for k in keys}
    )
