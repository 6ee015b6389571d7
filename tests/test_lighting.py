"""LED rings: PWM duty on the pins and in the twin, settle timing, refused values."""

from __future__ import annotations

import pytest
from gpiozero.pins.mock import MockFactory
from pydantic import ValidationError

from dermocap.clock import FastClock
from dermocap.errors import ConfigError, HardwareError
from device.config import DermocapConfig, LedChannelConfig, LightingConfig, parse_config
from device.lighting import Lighting, LightLevels
from device.rig import twin_mechanics
from sim.mechanics import TwinMechanics


@pytest.fixture
def clock() -> FastClock:
    return FastClock()


def make_twin(factory: MockFactory, clock: FastClock) -> TwinMechanics:
    return twin_mechanics(DermocapConfig(), factory, clock)


def test_set_drives_one_ring_scaled_by_max_duty(factory: MockFactory, clock: FastClock) -> None:
    cfg = LightingConfig(cross=LedChannelConfig(pin=12, max_duty=0.8))
    with Lighting(cfg, pin_factory=factory, clock=clock) as light:
        light.set("cross", 0.5)
        assert factory.pin(12).state == pytest.approx(0.4)
        assert factory.pin(13).state == 0.0
        assert factory.pin(12).frequency == cfg.pwm_frequency_hz
        light.set("parallel", 1.0)
        assert factory.pin(12).state == 0.0
        assert factory.pin(13).state == pytest.approx(1.0)
        assert light.levels == LightLevels(cross=0.0, parallel=1.0)
        assert light.levels.mode == "parallel"
        light.set_levels(cross=0.25, parallel=0.5)
        assert light.levels == LightLevels(cross=0.25, parallel=0.5)
        assert LightLevels(cross=0.25, parallel=0.5).mode == "mixed"
        light.set("off", 1.0)
        assert light.levels == LightLevels()
        assert factory.pin(12).state == 0.0 and factory.pin(13).state == 0.0


def test_led_duty_reaches_the_twin(factory: MockFactory, clock: FastClock) -> None:
    twin = make_twin(factory, clock)
    cfg = LightingConfig(parallel=LedChannelConfig(pin=13, max_duty=0.5))
    with Lighting(cfg, pin_factory=factory, clock=clock) as light:
        light.set("cross", 0.7)
        assert twin.led_duty() == pytest.approx({"cross": 0.7, "parallel": 0.0})
        light.set("parallel", 0.6)
        assert twin.led_duty() == pytest.approx({"cross": 0.0, "parallel": 0.3})
        assert twin.led_frequency_hz() == {"cross": 2000.0, "parallel": 2000.0}
        light.off()
        assert twin.led_duty() == {"cross": 0.0, "parallel": 0.0}
        light.set("cross", 1.0)
    assert twin.led_duty() == {"cross": 0.0, "parallel": 0.0}  # close switches off


@pytest.mark.parametrize("bad", [-0.01, 1.01, float("nan"), float("inf")])
def test_intensity_outside_0_1_is_refused(
    factory: MockFactory, clock: FastClock, bad: float
) -> None:
    with Lighting(LightingConfig(), pin_factory=factory, clock=clock) as light:
        light.set("cross", 0.5)
        with pytest.raises(ValueError, match="intensity must be a number from 0 to 1"):
            light.set("cross", bad)
        with pytest.raises(ValueError, match="parallel intensity"):
            light.set_levels(cross=0.1, parallel=bad)
        assert light.levels.cross == 0.5  # nothing changed
        assert factory.pin(12).state == 0.5


def test_unknown_mode_is_refused(factory: MockFactory, clock: FastClock) -> None:
    with Lighting(LightingConfig(), pin_factory=factory, clock=clock) as light:
        with pytest.raises(ValueError, match="unknown light mode 'uv'"):
            light.set("uv", 0.5)  # type: ignore[arg-type]


def test_wait_settled_waits_settle_ms_after_the_last_change(
    factory: MockFactory, clock: FastClock
) -> None:
    cfg = LightingConfig(settle_ms=60.0)
    with Lighting(cfg, pin_factory=factory, clock=clock) as light:
        light.wait_settled()  # nothing changed yet: no wait
        t0 = clock.monotonic()
        light.set("cross", 0.5)
        assert light.settled_at == pytest.approx(t0 + 0.060, abs=0.005)
        light.wait_settled()
        assert clock.monotonic() >= light.settled_at
        assert clock.monotonic() - t0 == pytest.approx(0.060, abs=0.005)
        settled = light.settled_at
        light.set("cross", 0.5)  # same level: not a change, no new settle time
        assert light.settled_at == settled
        light.set("cross", 0.6)
        assert light.settled_at > settled


def test_pwm_under_1_khz_is_refused_by_config() -> None:
    with pytest.raises(ValidationError, match="greater than or equal to 1000"):
        LightingConfig(pwm_frequency_hz=500.0)
    with pytest.raises(ConfigError) as err:
        parse_config({"lighting": {"pwm_frequency_hz": 200}})
    assert [path for path, _ in err.value.errors] == ["lighting.pwm_frequency_hz"]


def test_close_is_idempotent_and_refuses_later_use(factory: MockFactory, clock: FastClock) -> None:
    light = Lighting(LightingConfig(), pin_factory=factory, clock=clock)
    light.set("parallel", 1.0)
    light.close()
    light.close()
    assert factory.pin(13).state == 0.0
    with pytest.raises(HardwareError, match="closed"):
        light.set("cross", 0.5)
    with Lighting(LightingConfig(), pin_factory=factory, clock=clock):
        pass  # pins free again
