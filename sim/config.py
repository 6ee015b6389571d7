"""Config section owned by sim/: the digital twin's scalp, optics and mechanics."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from dermocap.configbase import Section

HairColour = Literal["black", "dark_brown", "brown", "auburn", "blond", "grey", "white"]
Curl = Literal["straight", "wavy", "curly", "coiled"]


class ScalpConfig(Section):
    """The procedural scalp in front of the twin's lens."""

    seed: int = Field(1, ge=0, le=2**31 - 1, description="Seed of the scalp world")
    skin_tone: float = Field(
        0.3, ge=0.0, le=1.0, description="0 very light (Fitzpatrick I) .. 1 very dark (VI)"
    )
    hair_colour: HairColour = Field("dark_brown", description="Colour of the terminal hairs")
    density_per_cm2: float = Field(
        180.0, ge=40.0, le=320.0, description="Hairs emerging per cm2 (ground truth)"
    )
    vellus_fraction: float = Field(
        0.15, ge=0.05, le=0.40, description="Share of hairs thinner than 30 um"
    )
    hair_length: Literal["trimmed", "long", "mixed"] = Field(
        "trimmed", description="Trimmed (clinic protocol, ~1 mm) or long hair lying on the scalp"
    )
    empty_follicle_fraction: float = Field(
        0.08, ge=0.0, le=0.5, description="Follicle openings without a hair, as share of units"
    )
    curl: Curl = Field(
        "straight",
        description="Shape of the shafts: straight, wavy, curly or coiled (sim.scalp.curl)",
    )
    extent_mm: float = Field(
        30.0, ge=12.0, le=100.0, description="Side of the square patch of scalp that exists"
    )
    look: Literal["trichoscopy", "legacy", "random"] = Field(
        "trichoscopy",
        description=(
            "Appearance (sim.appearance): a trichoscopy close-up (textured skin, dark shafts,"
            " blunt cut ends, faint openings), the twin's legacy look (pale shafts, dark"
            " openings), or a random look drawn from style_seed"
        ),
    )
    style_seed: int = Field(
        0, ge=0, le=2**31 - 1, description="Seed of the random look (look = random)"
    )


class OpticsConfig(Section):
    """The twin's true optics, which the rig must discover by calibration and autofocus."""

    z_focus_mm: float = Field(6.3, ge=0.0, le=50.0, description="Stage z of best focus")
    defocus_px_per_mm: float = Field(
        9.0, gt=0.0, le=200.0, description="Blur sigma (px at full resolution) per mm off focus"
    )
    depth_of_field_mm: float = Field(
        0.08, ge=0.0, le=2.0, description="Half-width around z_focus with no added blur"
    )
    um_per_px_error: float = Field(
        0.02, ge=-0.2, le=0.2, description="True um/px differs from the lens' nominal by this share"
    )
    vignetting: float = Field(0.25, ge=0.0, le=0.9, description="Light fall-off at the corners")
    led_efficiency: float = Field(
        1.0, gt=0.0, le=1.5, description="LED output per unit duty (ageing lowers it)"
    )
    ambient: float = Field(0.01, ge=0.0, le=1.0, description="Room light leaking under the cone")
    read_noise: float = Field(
        0.004, ge=0.0, le=0.1, description="Sensor read noise (of full scale)"
    )
    full_well_e: float = Field(
        10_000.0, ge=100.0, le=1e6, description="Electrons at full scale (sets shot noise)"
    )
    specular: float = Field(
        0.6, ge=0.0, le=2.0, description="Strength of glare under the non-polarised ring"
    )


class MechanicsConfig(Section):
    """The twin's Z stage and camera timing."""

    backlash_mm: float = Field(0.05, ge=0.0, le=2.0, description="Lost motion on reversal")
    start_z_mm: float = Field(
        4.0, ge=0.0, le=50.0, description="Where the carriage sits at power-on (unknown to the rig)"
    )
    control_latency_frames: int = Field(
        2, ge=0, le=10, description="Frames before new camera controls take effect"
    )


class SimConfig(Section):
    """The digital twin used by rig.backend = 'twin', the demo and the tests."""

    scalp: ScalpConfig = Field(ScalpConfig(), description="Procedural scalp")
    optics: OpticsConfig = Field(OpticsConfig(), description="True optics of the twin")
    mechanics: MechanicsConfig = Field(MechanicsConfig(), description="Stage and camera timing")
    phantom_image: str = Field(
        "", description="Image file to use instead of the procedural scalp (a printed phantom)"
    )
    phantom_um_per_px: float | None = Field(
        None, gt=0.0, le=100.0, description="Scale of the phantom image"
    )
    phantom_truth: str = Field("", description="Optional ground-truth JSON of the phantom")
    sensor_process: bool = Field(
        False,
        description=(
            "Render the twin's frames in a process of their own, as a rig's sensor works "
            "outside the service: the service's memory is then what it is on a rig"
        ),
    )

    @model_validator(mode="after")
    def _phantom_has_scale(self) -> SimConfig:
        if self.phantom_image and self.phantom_um_per_px is None:
            raise ValueError("phantom_image needs phantom_um_per_px")
        return self
