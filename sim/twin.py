"""The digital twin: a scene in front of a lens on a Z stage, lit by two LED rings.

:class:`Twin` renders what the sensor would see given the stage height and LED duty
(read from the mock pins through :class:`sim.mechanics.TwinMechanics` when attached)
and the camera controls. It knows the ground truth, so tests can check the rig.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
from numpy.typing import NDArray

from dermocap.errors import ImageError, PhantomError
from dermocap.images import decode_rgb
from sim.appearance import scalp_style
from sim.config import ScalpConfig, SimConfig
from sim.optics import defocus_sigma_px, expose, gaussian_blur, vignetting
from sim.render import CalibrationTarget, PhantomScene, ScalpScene, Scene, View
from sim.scalp import generate_scalp, regrow
from sim.sensor import SensorProcess, TwinState

log = logging.getLogger(__name__)

F32 = NDArray[np.float32]


class PinPhysics(Protocol):
    """What the twin reads from the mock pins (see sim.mechanics.TwinMechanics)."""

    @property
    def carriage_z_mm(self) -> float: ...

    def led_duty(self) -> dict[str, float]: ...


def load_phantom(image: Path, um_per_px: float, truth: Path | None = None) -> PhantomScene:
    """Load a phantom image (any format Pillow reads) and its optional ground-truth JSON.

    Raises:
        PhantomError: the image or truth file is missing or unreadable.
    """
    import json

    try:
        rgb8 = decode_rgb(Path(image), name=f"phantom {image}")
    except ImageError as exc:
        raise PhantomError(str(exc)) from None
    rgb = (rgb8.astype(np.float32) / 255.0) ** np.float32(2.2)
    data: dict[str, Any] | None = None
    if truth is not None:
        try:
            data = json.loads(Path(truth).read_text())
        except (OSError, ValueError) as exc:
            raise PhantomError(f"phantom truth {truth} is not readable JSON: {exc}") from None
        if not isinstance(data, dict):
            raise PhantomError(f"phantom truth {truth} must hold a JSON object")
    return PhantomScene(rgb, um_per_px, data)


def _scalp_scene(cfg: ScalpConfig) -> ScalpScene:
    """The scalp a config describes, in the look it asks for."""
    return ScalpScene(generate_scalp(cfg), scalp_style(cfg))


class Twin:
    """The simulated rig's optics and subject; thread-safe.

    Args:
        cfg: the sim config section.
        nominal_um_per_px: the lens' data-sheet scale at full resolution; the true
            scale differs by ``cfg.optics.um_per_px_error``.
        full_width: sensor mode width that ``nominal_um_per_px`` refers to.
        pins: mock-pin physics for stage height and LED duty; without it, set
            ``z_mm`` and ``duty`` directly (pure optics tests).
        seed: seed of the sensor noise.
    """

    def __init__(
        self,
        cfg: SimConfig,
        *,
        nominal_um_per_px: float,
        full_width: int = 2028,
        pins: PinPhysics | None = None,
        seed: int = 0,
    ) -> None:
        self.cfg = cfg
        self.true_um_per_px = nominal_um_per_px * (1.0 + cfg.optics.um_per_px_error)
        self.full_width = full_width
        self.pins = pins
        self.rng = np.random.default_rng(seed)
        self.led_efficiency = cfg.optics.led_efficiency
        self.ambient = cfg.optics.ambient
        self.z_focus_mm = cfg.optics.z_focus_mm
        self._z_mm = cfg.mechanics.start_z_mm
        self._duty = {"cross": 0.0, "parallel": 0.0}
        self.pose = (0.0, 0.0, 0.0)  # site offset x_mm, y_mm, rotation_deg
        self.motion_px_per_frame = 0.0  # subject motion during a frame (QC tests)
        self._lock = threading.RLock()
        self._cache: OrderedDict[tuple[Any, ...], tuple[F32, F32]] = OrderedDict()
        self._scene_name: Literal["scalp", "target", "phantom"]
        self._scalp: ScalpScene | None = None
        self._phantom: PhantomScene | None = None
        self._target = CalibrationTarget()
        self._scene_version = 0
        self._regrowths: list[tuple[float, int]] = []  # since the scalp was last set
        # what a sensor process needs to build the same twin (see use_sensor_process)
        self._sensor_kwargs = {
            "nominal_um_per_px": nominal_um_per_px,
            "full_width": full_width,
            "seed": seed,
        }
        self._sensor: SensorProcess | None = None
        if cfg.phantom_image:
            if cfg.phantom_um_per_px is None:  # SimConfig refuses this; be explicit anyway
                raise PhantomError("phantom_image needs phantom_um_per_px")
            self._phantom = load_phantom(
                Path(cfg.phantom_image),
                cfg.phantom_um_per_px,
                Path(cfg.phantom_truth) if cfg.phantom_truth else None,
            )
            self._scene_name = "phantom"
        else:
            self._scene_name = "scalp"
        self._scalp_cfg = cfg.scalp

    # -- what is in front of the lens -------------------------------------------------
    @property
    def scene(self) -> Scene:
        with self._lock:
            if self._scene_name == "target":
                return self._target
            if self._scene_name == "phantom" and self._phantom is not None:
                return self._phantom
            if self._scalp is None:
                self._scalp = _scalp_scene(self._scalp_cfg)
            return self._scalp

    def show_target(self) -> None:
        """Put the calibration target (grey patch + mm grid) under the lens."""
        with self._lock:
            self._scene_name = "target"

    def show_subject(self) -> None:
        """Put the subject's scalp (or the phantom, when one is configured) under the lens."""
        with self._lock:
            self._scene_name = "phantom" if self._phantom is not None else "scalp"

    @property
    def scalp_config(self) -> ScalpConfig:
        """The subject's scalp as configured now."""
        with self._lock:
            return self._scalp_cfg

    def set_scalp(self, scalp: ScalpConfig) -> None:
        """Replace the subject's scalp (a later visit, another subject)."""
        with self._lock:
            self._scalp_cfg = scalp
            self._scalp = None
            self._regrowths = []
            self._scene_version += 1
            self._cache.clear()

    def regrow(self, factor: float, seed: int = 0) -> None:
        """The subject's scalp months later: ``factor`` times the hairs, same layout.

        See :func:`sim.scalp.regrow`; relocation onto a baseline still works.
        """
        with self._lock:
            if self._scalp is None:
                self._scalp = _scalp_scene(self._scalp_cfg)
            self._scalp = ScalpScene(regrow(self._scalp.world, factor, seed), self._scalp.style)
            self._regrowths.append((factor, seed))
            self._scene_version += 1
            self._cache.clear()

    # -- the sensor in a process of its own ----------------------------------------------
    def use_sensor_process(self) -> None:
        """Render every frame from now on in a child process (see :mod:`sim.sensor`).

        The twin's scene, caches and render temporaries then live there, not in the
        process that runs the rig's code. :meth:`close` stops it.
        """
        with self._lock:
            if self._sensor is None:
                self._sensor = SensorProcess(self.cfg, self._sensor_kwargs)

    @property
    def sensor_pid(self) -> int | None:
        """The sensor process's pid, when frames are rendered in one."""
        return self._sensor.pid if self._sensor is not None else None

    def close(self) -> None:
        """Stop the sensor process, if any; idempotent."""
        with self._lock:
            sensor, self._sensor = self._sensor, None
        if sensor is not None:
            sensor.close()

    def state(self) -> TwinState:
        """A snapshot of everything a frame depends on but the camera controls."""
        with self._lock:
            duty = self.led_duty()
            return TwinState(
                scene_name=self._scene_name,
                scene_version=self._scene_version,
                scalp=self._scalp_cfg,
                regrowths=tuple(self._regrowths),
                pose=self.pose,
                z_mm=self.z_mm,
                duty=(duty["cross"], duty["parallel"]),
                motion_px_per_frame=self.motion_px_per_frame,
            )

    def place(self, x_mm: float = 0.0, y_mm: float = 0.0, rotation_deg: float = 0.0) -> None:
        """Set where the rig sits on the scalp (what the technician's hand does)."""
        with self._lock:
            self.pose = (x_mm, y_mm, rotation_deg)

    def nudge(self, dx_mm: float = 0.0, dy_mm: float = 0.0, drot_deg: float = 0.0) -> None:
        """Move the rig relative to where it is."""
        with self._lock:
            x, y, r = self.pose
            self.pose = (x + dx_mm, y + dy_mm, r + drot_deg)

    # -- rig state read from the pins ---------------------------------------------------
    @property
    def z_mm(self) -> float:
        if self.pins is not None:
            return self.pins.carriage_z_mm
        return self._z_mm

    @z_mm.setter
    def z_mm(self, value: float) -> None:
        if self.pins is not None:
            raise AttributeError("z comes from the stage pins; move the stage instead")
        self._z_mm = value

    def led_duty(self) -> dict[str, float]:
        if self.pins is not None:
            return self.pins.led_duty()
        return dict(self._duty)

    def set_duty(self, cross: float = 0.0, parallel: float = 0.0) -> None:
        """Set LED duty directly (only without pins)."""
        if self.pins is not None:
            raise AttributeError("LED duty comes from the PWM pins; use the Lighting device")
        self._duty = {"cross": cross, "parallel": parallel}

    # -- rendering -------------------------------------------------------------------------
    def view(self, width: int, height: int) -> View:
        """The current view at a given output size (binned modes see a coarser scale)."""
        x, y, r = self.pose
        upp = self.true_um_per_px * self.full_width / width
        return View(x, y, r, upp, width, height)

    def _cached(self, key: tuple[Any, ...], make: Any) -> tuple[F32, F32]:
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        out: tuple[F32, F32] = make()
        with self._lock:
            self._cache[key] = out
            while len(self._cache) > 8:
                self._cache.popitem(last=False)
        return out

    def _blurred(self, view: View, sigma_px: float) -> tuple[F32, F32]:
        """Sharp reflectance of the view, blurred by the defocus; both cached."""
        base = (self._scene_name, self._scene_version, view)
        sharp = self._cached((*base, None), lambda: self.scene.reflectance(view))
        # Blur depends on z only through sigma; a burst at one z reuses it.
        s = round(sigma_px, 2)
        return self._cached(
            (*base, s), lambda: (gaussian_blur(sharp[0], s), gaussian_blur(sharp[1], s))
        )

    def render(
        self,
        *,
        width: int,
        height: int,
        exposure_us: float,
        analogue_gain: float,
        colour_gains: tuple[float, float],
        noise: bool = True,
    ) -> NDArray[np.uint8]:
        """Render one frame as the sensor and ISP would deliver it, RGB uint8 (h, w, 3).

        Raises:
            CameraError: the sensor process (:meth:`use_sensor_process`) failed.
        """
        sensor = self._sensor
        if sensor is not None and noise:
            controls = {
                "width": width,
                "height": height,
                "exposure_us": exposure_us,
                "analogue_gain": analogue_gain,
                "colour_gains": colour_gains,
            }
            return sensor.render(self.state(), controls)
        view = self.view(width, height)
        o = self.cfg.optics
        scale = width / self.full_width
        sigma = defocus_sigma_px(
            self.z_mm,
            self.z_focus_mm,
            px_per_mm=o.defocus_px_per_mm,
            depth_of_field_mm=o.depth_of_field_mm,
            scale=scale,
        )
        refl, spec = self._blurred(view, sigma)
        if self.motion_px_per_frame > 0:
            refl = _motion_smear(refl, self.motion_px_per_frame * scale)
        duty = self.led_duty()
        with self._lock:
            rng = self.rng if noise else None
            return expose(
                refl,
                spec,
                cross_duty=duty["cross"],
                parallel_duty=duty["parallel"],
                led_efficiency=self.led_efficiency,
                ambient=self.ambient,
                specular_strength=o.specular,
                vignette=vignetting(height, width, o.vignetting),
                exposure_us=exposure_us,
                analogue_gain=analogue_gain,
                colour_gains=colour_gains,
                full_well_e=o.full_well_e,
                read_noise=o.read_noise,
                rng=rng,
            )

    def truth(self, width: int | None = None, height: int | None = None) -> dict[str, Any]:
        """Ground truth of the current view (full resolution unless a size is given)."""
        w = width or self.full_width
        h = height or round(self.full_width * 1520 / 2028)
        return self.scene.truth(self.view(w, h))


def _motion_smear(img: F32, length_px: float) -> F32:
    """Horizontal motion blur of ``length_px`` (the subject moved during the exposure)."""
    n = max(1, round(length_px))
    if n == 1:
        return img
    acc = np.zeros_like(img)
    for i in range(n):
        acc += np.roll(img, i - n // 2, axis=1)
    out: F32 = acc / np.float32(n)
    return out
