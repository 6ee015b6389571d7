"""Build the rig from config: real pins and picamera2, or the digital twin on MockFactory.

This is the one place that chooses real or simulated backends; everything else
takes them as arguments. :class:`Rig` holds ports only (camera, pins, light, stage,
status light, button, technician): nothing outside this module learns which kind it got.
It closes its parts in reverse order of start and copes with a start that failed half way.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from capture.camera import Camera, Picamera2Camera
from capture.relocation import Guidance
from capture.technician import Technician
from dermocap.clock import Clock, FastClock, SystemClock
from dermocap.errors import HardwareError
from dermocap.resource import Closeable
from device.button import CaptureButton
from device.config import DermocapConfig
from device.lighting import Lighting
from device.stage import ZStage
from device.status import StatusIndicator
from device.technician import ButtonTechnician, TerminalTechnician
from sim.camera import TwinCamera
from sim.hand import HAND_SOCKET, TwinHand, TwinTechnician
from sim.mechanics import TwinMechanics
from sim.twin import Twin

log = logging.getLogger(__name__)


@dataclass
class Rig(Closeable):
    """The parts of one rig, ready to use.

    ``hand_socket`` is where a script can play the technician (the twin, when asked for
    one); ``None`` otherwise.
    """

    config: DermocapConfig
    clock: Clock
    pin_factory: Any
    lighting: Lighting
    stage: ZStage
    status: StatusIndicator
    button: CaptureButton
    camera: Camera
    technician: Technician
    hand_socket: Path | None = None
    _stack: ExitStack = field(default_factory=ExitStack, repr=False)

    def close(self) -> None:
        """Switch the light off, release the motor and close every part; idempotent."""
        self._stack.close()


def twin_mechanics(cfg: DermocapConfig, factory: Any, clock: Clock) -> TwinMechanics:
    """The twin's pin physics on ``factory``, wired to the pins and stage ``cfg`` names.

    Build it before any device on the same factory (see TwinMechanics).
    """
    st = cfg.stage
    return TwinMechanics(
        factory,
        step_pin=st.step_pin,
        dir_pin=st.dir_pin,
        enable_pin=st.enable_pin,
        limit_pin=st.limit_pin,
        button_pin=cfg.button.pin,
        cross_pin=cfg.lighting.cross.pin,
        parallel_pin=cfg.lighting.parallel.pin,
        dir_up_level=st.dir_up_level,
        steps_per_mm=st.steps_per_mm,
        backlash_mm=cfg.sim.mechanics.backlash_mm,
        start_z_mm=cfg.sim.mechanics.start_z_mm,
        clock=clock,
    )


def _noop() -> None:
    return None


def build_rig(
    cfg: DermocapConfig,
    *,
    on_press: Callable[[], None] = _noop,
    on_hold: Callable[[], None] = _noop,
    on_hold_reached: Callable[[], None] | None = None,
    clock: Clock | None = None,
    twin_seed: int = 0,
    interactive: bool = False,
    tell: Callable[[Guidance], None] | None = None,
    place_wait_s: float = 120.0,
    hand_dir: Path | None = None,
) -> Rig:
    """Open every part of the rig named by ``cfg.rig.backend``.

    On the twin a :class:`FastClock` is used unless one is passed, so motor moves and
    exposures take no real time, and the technician is the twin's scripted hand (served on a
    socket in ``hand_dir`` when one is given). On hardware the technician is asked on the
    terminal when ``interactive``, else through the status light and the capture button (a
    short press answers a wait before it reaches ``on_press``; ``place_wait_s`` for the
    target or subject); ``tell`` receives each relocation guidance first.

    Raises HardwareError (or CameraError) with what to check.
    """
    stack = ExitStack()
    try:
        twin_hand: TwinTechnician | None = None
        if cfg.rig.backend == "twin":
            from gpiozero.pins.mock import MockFactory, MockPWMPin

            clk: Clock = clock or FastClock()
            factory: Any = MockFactory(pin_class=MockPWMPin)
            stack.callback(factory.close)
            mechanics = twin_mechanics(cfg, factory, clk)
            stack.callback(mechanics.close)
            twin = Twin(
                cfg.sim,
                nominal_um_per_px=cfg.camera.nominal_um_per_px,
                full_width=cfg.camera.width,
                pins=mechanics,
                seed=twin_seed,
            )
            stack.callback(twin.close)
            if cfg.sim.sensor_process:
                twin.use_sensor_process()
            twin_hand = TwinTechnician(twin, mechanics)
            camera: Camera = TwinCamera(
                twin,
                clock=clk,
                frame_duration_us=cfg.camera.frame_duration_us,
                control_latency_frames=cfg.sim.mechanics.control_latency_frames,
                default_timeout_s=cfg.camera.timeout_s,
            )
        else:
            clk = clock or SystemClock()
            factory = hardware_pin_factory()
            stack.callback(factory.close)
            camera = Picamera2Camera(default_timeout_s=cfg.camera.timeout_s)
        stack.callback(camera.close)
        status = StatusIndicator(cfg.status, pin_factory=factory)
        stack.callback(status.close)
        lighting = Lighting(cfg.lighting, pin_factory=factory, clock=clk)
        stack.callback(lighting.close)
        stage = ZStage(cfg.stage, pin_factory=factory, clock=clk)
        stack.callback(stage.close)
        technician: Technician
        press = on_press
        hand_socket: Path | None = None
        if twin_hand is not None:
            technician = twin_hand
            if hand_dir is not None:
                hand_socket = Path(hand_dir) / HAND_SOCKET
                stack.enter_context(TwinHand(hand_socket, twin_hand, light=status.describe))
        elif interactive:
            technician = TerminalTechnician(sys.stdin, sys.stderr)
        else:
            asker = ButtonTechnician(
                status,
                clock=clk,
                place_wait_s=place_wait_s,
                follow_wait_s=cfg.capture.relocation.follow_wait_s,
                tell=tell,
            )
            technician = asker
            press = asker.routed(on_press)

        stack.callback(technician.close)
        button = CaptureButton(
            cfg.button,
            pin_factory=factory,
            on_press=press,
            on_hold=on_hold,
            on_hold_reached=on_hold_reached,
        )
        stack.callback(button.close)
    except BaseException:
        stack.close()
        raise
    return Rig(
        config=cfg,
        clock=clk,
        pin_factory=factory,
        lighting=lighting,
        stage=stage,
        status=status,
        button=button,
        camera=camera,
        technician=technician,
        hand_socket=hand_socket,
        _stack=stack,
    )


def hardware_pin_factory() -> Any:
    """gpiozero's lgpio pin factory for the Pi's own pins, made here rather than as gpiozero's
    global default; the caller closes it.

    Raises:
        HardwareError: no usable GPIO library or no access to the GPIO chip.
    """
    try:
        from gpiozero.pins.lgpio import LGPIOFactory

        return LGPIOFactory()
    except Exception as exc:  # an ImportError off the Pi, OSError/lgpio.error without access
        raise HardwareError(
            f"no GPIO access ({exc}): install the 'pi' extra (lgpio) and add the "
            "service user to the gpio group"
        ) from exc
